/**
 * Bearer-token authentication of REST calls: sets the Principal or answers 401 (403
 * `account_disabled`). The rule is src/auth/access.ts, shared with the socket handshake: a deleted
 * user's tokens stop working at once (`unknown_user`), a deactivated one's too, a revoked session's
 * (`session_revoked`) too, and the role is the stored one, so a demotion takes effect at the next
 * request instead of when the access token expires.
 */
import type { MiddlewareHandler } from "hono";
import type { Database } from "../../db/client.ts";
import type { UserRow } from "../../db/schema.ts";
import { ACCESS_MESSAGES, authenticateAccessToken } from "../auth/access.ts";
import { TokenError, type TokenService } from "../auth/tokens.ts";
import type { ChatMetrics } from "../metrics/chat-metrics.ts";
import type { Principal } from "../services/access.ts";
import { ERROR_CODES } from "../shared/events.ts";
import { HttpError, unauthorized } from "./errors.ts";

export const UNKNOWN_USER = ACCESS_MESSAGES.unknownUser;

/** A refused token as an HTTP error: 403 for a disabled account (it is known, just not allowed), else 401. */
export function tokenRefusal(err: TokenError): HttpError {
  return err.code === ERROR_CODES.accountDisabled
    ? new HttpError(403, err.code, err.message)
    : unauthorized(err.message, err.code);
}

/** What an authenticated request carries: the principal, and the user row it was read from. */
export type AuthEnv = { Variables: { principal: Principal; user: UserRow } };

export const MISSING_BEARER = "missing bearer token (Authorization: Bearer <access token>)";

/** The token of an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(header: string | undefined | null): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1];
}

export function requireAuth(
  tokens: TokenService,
  metrics: ChatMetrics,
  db: Database,
): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const token = bearerToken(c.req.header("authorization"));
    if (!token) throw unauthorized(MISSING_BEARER);
    let user: UserRow;
    try {
      ({ user } = await authenticateAccessToken(db, tokens, token));
    } catch (err) {
      if (err instanceof TokenError) {
        metrics.authFailures.inc({ code: err.code, via: "http" });
        throw tokenRefusal(err);
      }
      throw err;
    }
    c.set("principal", { user_id: user.id, organization_id: user.organizationId, role: user.role });
    c.set("user", user);
    await next();
  };
}
