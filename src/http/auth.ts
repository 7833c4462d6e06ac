/** Bearer-token authentication of REST calls: sets the Principal or answers 401. */
import type { MiddlewareHandler } from "hono";
import { TokenError, type TokenService } from "../auth/tokens.ts";
import type { ChatMetrics } from "../metrics/chat-metrics.ts";
import type { Principal } from "../services/conversations.ts";
import { unauthorized } from "./errors.ts";

export type AuthEnv = { Variables: { principal: Principal } };

export const MISSING_BEARER = "missing bearer token (Authorization: Bearer <access token>)";

/** The token of an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(header: string | undefined | null): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1];
}

export function requireAuth(tokens: TokenService, metrics: ChatMetrics): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const token = bearerToken(c.req.header("authorization"));
    if (!token) throw unauthorized(MISSING_BEARER);
    try {
      const claims = await tokens.verify(token, "access");
      c.set("principal", { user_id: claims.sub, organization_id: claims.organization_id, role: claims.role });
    } catch (err) {
      if (err instanceof TokenError) {
        metrics.authFailures.inc({ code: err.code, via: "http" });
        throw unauthorized(err.message, err.code);
      }
      throw err;
    }
    await next();
  };
}
