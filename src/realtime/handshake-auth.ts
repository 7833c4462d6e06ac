/**
 * Connection middleware: the handshake must carry an access token (`auth.token`, or an
 * `Authorization: Bearer` header for clients that cannot set auth). A refusal becomes a
 * CONNECT_ERROR whose message says what is wrong and whose `data.code` is a stable ERROR_CODES value.
 */
import type { MiddlewareError } from "../../protocol/index.ts";
import { TokenError } from "../auth/tokens.ts";
import type { AppContext } from "../context.ts";
import { bearerToken } from "../http/auth.ts";
import { findUserById } from "../services/users.ts";
import { ERROR_CODES, type ErrorCode } from "../shared/events.ts";
import type { ChatSocket } from "./types.ts";

export const HANDSHAKE_ERRORS = {
  missing: "authentication required: pass the access token as auth.token",
  unknownUser: "the user of this token no longer exists",
  accountDisabled: "this account is deactivated",
  internal: "authentication is unavailable; retry later",
} as const;

function refusal(code: ErrorCode, message: string): MiddlewareError {
  const err: MiddlewareError = new Error(message);
  err.data = { code };
  return err;
}

export function handshakeAuth(ctx: AppContext) {
  return (socket: ChatSocket, next: (err?: MiddlewareError) => void): void => {
    const fromAuth = socket.handshake.auth?.token;
    const token =
      typeof fromAuth === "string" && fromAuth
        ? fromAuth
        : bearerToken(socket.handshake.headers.authorization);
    const fail = (code: ErrorCode, message: string) => {
      ctx.metrics.authFailures.inc({ code, via: "socket" });
      next(refusal(code, message));
    };
    if (!token) {
      fail(ERROR_CODES.missingToken, HANDSHAKE_ERRORS.missing);
      return;
    }
    ctx.tokens
      .verify(token, "access")
      .then(async (claims) => {
        const user = await findUserById(ctx.database.db, claims.sub);
        if (!user || user.organizationId !== claims.organization_id) {
          fail(ERROR_CODES.unknownUser, HANDSHAKE_ERRORS.unknownUser);
          return;
        }
        if (!user.active) {
          fail(ERROR_CODES.accountDisabled, HANDSHAKE_ERRORS.accountDisabled);
          return;
        }
        socket.data = {
          user_id: claims.sub,
          organization_id: claims.organization_id,
          // The stored role, not the token's: a demotion takes effect at the next connection.
          role: user.role,
          user_name: user.name,
          token_exp: claims.exp,
        };
        next();
      })
      .catch((err) => {
        if (err instanceof TokenError) fail(err.code, err.message);
        else fail(ERROR_CODES.internalError, HANDSHAKE_ERRORS.internal);
      });
  };
}
