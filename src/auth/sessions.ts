/**
 * Login sessions and their refresh tokens, stored server-side.
 *
 * A login opens a session (auth_sessions) and issues its first refresh token. Refresh tokens are
 * JWTs (so garbage is refused without a database read) whose SHA-256 is stored; each is good ONCE:
 * a refresh marks it rotated and issues the next one of the same session. Offering a rotated token
 * again means two parties hold the session (a stolen copy, or a replay): the whole session is
 * revoked. Access tokens carry the session id (`sid`), so a revoked session stops authenticating at
 * once (src/auth/access.ts), not when its access tokens expire.
 */
import { createHash, randomUUID } from "node:crypto";
import { and, eq, isNull, lt, type SQL, sql } from "drizzle-orm";
import type { Database, Tx } from "../../db/client.ts";
import { authSessions, refreshTokens, type UserRow, users } from "../../db/schema.ts";
import { ERROR_CODES, type Uuid } from "../shared/events.ts";
import { TokenError, type TokenService } from "./tokens.ts";

type Queryable = Database | Tx;

/** Why a session was revoked (auth_sessions.revoked_reason). */
export const REVOKE_REASONS = {
  logout: "logout",
  passwordChanged: "password_changed",
  accountDisabled: "account_disabled",
  refreshTokenReused: "refresh_token_reused",
} as const;
export type RevokeReason = (typeof REVOKE_REASONS)[keyof typeof REVOKE_REASONS];

export const SESSION_MESSAGES = {
  noSession: "this refresh token belongs to no session (issued before sessions existed?); log in again",
  unknownToken: "this refresh token is not known; log in again",
  reused: "this refresh token was already used: the session is revoked; log in again",
  revoked: "the session of this refresh token has ended; log in again",
  disabled: "this account is disabled",
  unknownUser: "the user of this refresh token no longer exists",
} as const;

export interface IssuedTokens {
  access_token: string;
  refresh_token: string;
  session_id: Uuid;
  user: UserRow;
}

/** What a refresh led to: new tokens, or why not (`reused` means the session was just revoked). */
export type RotateOutcome =
  | { ok: true; tokens: IssuedTokens }
  | { ok: false; error: TokenError; revokedSessionId?: Uuid };

async function revokeSessions(db: Queryable, which: SQL, reason: RevokeReason): Promise<void> {
  await db
    .update(authSessions)
    .set({ revokedAt: sql`now()`, revokedReason: reason })
    .where(and(which, isNull(authSessions.revokedAt)));
}

/**
 * Revokes every live session of `userId` (inside the caller's transaction when given one): their
 * refresh tokens stop working and their access tokens stop authenticating. Needs no TokenService,
 * so the CLI shares it with the server.
 */
export const revokeUserSessions = (db: Queryable, userId: Uuid, reason: RevokeReason): Promise<void> =>
  revokeSessions(db, eq(authSessions.userId, userId), reason);

export const hashToken = (token: string): string => createHash("sha256").update(token).digest("hex");

export class SessionStore {
  constructor(
    private readonly db: Database,
    private readonly tokens: TokenService,
  ) {}

  /** Opens a session for `user` (a login) and issues its first token pair. */
  async start(user: UserRow): Promise<IssuedTokens> {
    const sessionId = randomUUID();
    const { access, refresh, expiresAt } = await this.#sign(user, sessionId);
    await this.db.transaction(async (tx) => {
      await tx.insert(authSessions).values({ id: sessionId, userId: user.id, expiresAt });
      await tx.insert(refreshTokens).values({ tokenHash: hashToken(refresh), sessionId, expiresAt });
      // Housekeeping: this user's sessions past their expiry (revoked or not) go, with their tokens.
      await tx
        .delete(authSessions)
        .where(and(eq(authSessions.userId, user.id), lt(authSessions.expiresAt, new Date())));
    });
    return { access_token: access, refresh_token: refresh, session_id: sessionId, user };
  }

  /** Exchanges a refresh token for the next pair of its session (see the file comment). */
  async rotate(refreshToken: string): Promise<RotateOutcome> {
    const claims = await this.tokens.verify(refreshToken, "refresh");
    if (!claims.sid)
      return { ok: false, error: new TokenError(ERROR_CODES.invalidToken, SESSION_MESSAGES.noSession) };
    const sid = claims.sid;
    const hash = hashToken(refreshToken);
    return this.db.transaction(async (tx): Promise<RotateOutcome> => {
      // The conditional update is the race arbiter: of two concurrent uses exactly one rotates it.
      const [used] = await tx
        .update(refreshTokens)
        .set({ rotatedAt: new Date() })
        .where(
          and(
            eq(refreshTokens.tokenHash, hash),
            eq(refreshTokens.sessionId, sid),
            isNull(refreshTokens.rotatedAt),
          ),
        )
        .returning({ sessionId: refreshTokens.sessionId });
      if (!used) {
        const [known] = await tx
          .select({ sessionId: refreshTokens.sessionId })
          .from(refreshTokens)
          .where(and(eq(refreshTokens.tokenHash, hash), eq(refreshTokens.sessionId, sid)));
        if (!known)
          return {
            ok: false,
            error: new TokenError(ERROR_CODES.invalidToken, SESSION_MESSAGES.unknownToken),
          };
        await this.#revoke(tx, eq(authSessions.id, sid), REVOKE_REASONS.refreshTokenReused);
        return {
          ok: false,
          error: new TokenError(ERROR_CODES.refreshTokenReused, SESSION_MESSAGES.reused),
          revokedSessionId: sid,
        };
      }
      const [row] = await tx
        .select({ session: authSessions, user: users })
        .from(authSessions)
        .innerJoin(users, eq(users.id, authSessions.userId))
        .where(eq(authSessions.id, sid));
      if (!row || row.user.id !== claims.sub)
        return { ok: false, error: new TokenError(ERROR_CODES.unknownUser, SESSION_MESSAGES.unknownUser) };
      if (row.session.revokedAt)
        return { ok: false, error: new TokenError(ERROR_CODES.sessionRevoked, SESSION_MESSAGES.revoked) };
      if (!row.user.active)
        return { ok: false, error: new TokenError(ERROR_CODES.accountDisabled, SESSION_MESSAGES.disabled) };
      // The stored role and organization, not the old token's: a change applies at the next refresh.
      const { access, refresh, expiresAt } = await this.#sign(row.user, sid);
      await tx.insert(refreshTokens).values({ tokenHash: hashToken(refresh), sessionId: sid, expiresAt });
      await tx.update(authSessions).set({ expiresAt }).where(eq(authSessions.id, sid));
      // Rotated tokens are kept until they expire (to recognise a reuse); after that a JWT check refuses them.
      await tx
        .delete(refreshTokens)
        .where(and(eq(refreshTokens.sessionId, sid), lt(refreshTokens.expiresAt, new Date())));
      return {
        ok: true,
        tokens: { access_token: access, refresh_token: refresh, session_id: sid, user: row.user },
      };
    });
  }

  /**
   * Logout: revokes the session of `refreshToken` (any token of it, rotated or not). Answers the
   * session id, or null when the token names no session of this server. Idempotent.
   */
  async logout(refreshToken: string): Promise<Uuid | null> {
    const claims = await this.tokens.verify(refreshToken, "refresh");
    if (!claims.sid) return null;
    const [known] = await this.db
      .select({ sessionId: refreshTokens.sessionId })
      .from(refreshTokens)
      .where(
        and(eq(refreshTokens.tokenHash, hashToken(refreshToken)), eq(refreshTokens.sessionId, claims.sid)),
      );
    if (!known) return null;
    await this.#revoke(this.db, eq(authSessions.id, known.sessionId), REVOKE_REASONS.logout);
    return known.sessionId;
  }

  #revoke(db: Queryable, which: SQL, reason: RevokeReason): Promise<void> {
    return revokeSessions(db, which, reason);
  }

  async #sign(user: UserRow, sessionId: Uuid): Promise<{ access: string; refresh: string; expiresAt: Date }> {
    const subject = {
      id: user.id,
      organization_id: user.organizationId,
      role: user.role,
      session_id: sessionId,
    };
    const [access, refresh] = await Promise.all([
      this.tokens.sign(subject, "access"),
      this.tokens.sign(subject, "refresh"),
    ]);
    return { access, refresh, expiresAt: new Date(Date.now() + this.tokens.refreshTtlS * 1000) };
  }
}
