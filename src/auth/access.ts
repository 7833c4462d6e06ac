/**
 * The one rule for "does this access token still authenticate someone", used by REST (src/http/auth.ts)
 * and the socket handshake (src/realtime/handshake-auth.ts): a valid JWT whose user still exists in
 * the token's organization, is active, and whose login session (`sid`) has not been revoked. The user
 * and the session are read in one prepared query, so the check costs what the user read did before.
 */
import { eq, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { authSessions, type UserRow, users } from "../../db/schema.ts";
import { prepared } from "../services/prepared.ts";
import { ERROR_CODES, type Uuid } from "../shared/events.ts";
import { type TokenClaims, TokenError, type TokenService } from "./tokens.ts";

export const ACCESS_MESSAGES = {
  unknownUser: "the user of this token no longer exists",
  disabled: "this account is disabled",
  revoked: "the session of this token has ended (logout, password change or revocation); log in again",
} as const;

export interface Authenticated {
  claims: TokenClaims;
  user: UserRow;
}

/** The user `userId` and whether session `sessionId` (if any) is a live session of theirs. */
async function findUserWithSession(
  db: Database,
  userId: Uuid,
  sessionId: Uuid | null,
): Promise<{ user: UserRow; sessionUserId: Uuid | null; revokedAt: Date | null } | null> {
  const statement = prepared(db, "user_with_session", () =>
    db
      .select({ user: users, sessionUserId: authSessions.userId, revokedAt: authSessions.revokedAt })
      .from(users)
      .leftJoin(authSessions, eq(authSessions.id, sql.placeholder("sid")))
      .where(eq(users.id, sql.placeholder("id")))
      .limit(1)
      .prepare("user_with_session"),
  );
  const [row] = await statement.execute({ id: userId, sid: sessionId });
  return row ?? null;
}

/** Verifies `token` as an access token and applies the rule above; throws TokenError. */
export async function authenticateAccessToken(
  db: Database,
  tokens: TokenService,
  token: string,
): Promise<Authenticated> {
  const claims = await tokens.verify(token, "access");
  const row = await findUserWithSession(db, claims.sub, claims.sid ?? null);
  if (!row || row.user.organizationId !== claims.organization_id)
    throw new TokenError(ERROR_CODES.unknownUser, ACCESS_MESSAGES.unknownUser);
  if (!row.user.active) throw new TokenError(ERROR_CODES.accountDisabled, ACCESS_MESSAGES.disabled);
  if (claims.sid && (row.sessionUserId !== row.user.id || row.revokedAt !== null))
    throw new TokenError(ERROR_CODES.sessionRevoked, ACCESS_MESSAGES.revoked);
  return { claims, user: row.user };
}
