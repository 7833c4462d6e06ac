/**
 * Bearer-token authentication of REST calls: sets the Principal or answers 401. As at the socket
 * handshake, the user is read from the database: a deleted user's tokens stop working at once
 * (`unknown_user`), and the role is the stored one, so a demotion takes effect at the next request
 * instead of when the access token expires.
 */
import type { MiddlewareHandler } from "hono";
import type { Database } from "../../db/client.ts";
import type { UserRow } from "../../db/schema.ts";
import { TokenError, type TokenService } from "../auth/tokens.ts";
import type { ChatMetrics } from "../metrics/chat-metrics.ts";
import type { Principal } from "../services/access.ts";
import { findUserById } from "../services/users.ts";
import { ERROR_CODES } from "../shared/events.ts";
import { unauthorized } from "./errors.ts";

export const UNKNOWN_USER = "the user of this token no longer exists";
export const ACCOUNT_DISABLED = "this account is deactivated";

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
    let claims: Awaited<ReturnType<TokenService["verify"]>>;
    try {
      claims = await tokens.verify(token, "access");
    } catch (err) {
      if (err instanceof TokenError) {
        metrics.authFailures.inc({ code: err.code, via: "http" });
        throw unauthorized(err.message, err.code);
      }
      throw err;
    }
    const user = await findUserById(db, claims.sub);
    if (!user || user.organizationId !== claims.organization_id) {
      metrics.authFailures.inc({ code: ERROR_CODES.unknownUser, via: "http" });
      throw unauthorized(UNKNOWN_USER, ERROR_CODES.unknownUser);
    }
    if (!user.active) {
      metrics.authFailures.inc({ code: ERROR_CODES.accountDisabled, via: "http" });
      throw unauthorized(ACCOUNT_DISABLED, ERROR_CODES.accountDisabled);
    }
    c.set("principal", { user_id: user.id, organization_id: user.organizationId, role: user.role });
    c.set("user", user);
    await next();
  };
}
