/**
 * POST /api/v1/auth/login, /refresh, /logout, /password and GET /api/v1/auth/me.
 * Sessions and refresh-token rotation: src/auth/sessions.ts. Password rules: src/services/user-admin.ts.
 */
import { Hono } from "hono";
import { verifyPassword } from "../../auth/password.ts";
import type { IssuedTokens } from "../../auth/sessions.ts";
import { TokenError } from "../../auth/tokens.ts";
import type { AppContext } from "../../context.ts";
import { TokenBuckets } from "../../limits/token-bucket.ts";
import { changeOwnPassword } from "../../services/user-admin.ts";
import { findUserByEmail, toUserSummary } from "../../services/users.ts";
import type { TokenResponse } from "../../shared/api.ts";
import { ERROR_CODES } from "../../shared/events.ts";
import { type AuthEnv, requireAuth, tokenRefusal } from "../auth.ts";
import { HTTP_ERROR_CODES, HttpError, unauthorized } from "../errors.ts";
import { CHANGE_PASSWORD_BODY, LOGIN_BODY, REFRESH_BODY } from "../openapi/routes.ts";
import { clientAddress, readJsonObject } from "../validate.ts";
import { userAdminError } from "./users.ts";

export const LOGIN_FAILED = "invalid email or password";
export const ACCOUNT_DISABLED = "this account is disabled; ask an administrator of your organization";
/** Login attempts per client address: 10 at once, then one every 6 seconds. */
const LOGIN_RATE = { ratePerSecond: 1 / 6, burst: 10 };
/** Own-password changes per user (each checks the current password): 5 at once, then one a minute. */
const PASSWORD_RATE = { ratePerSecond: 1 / 60, burst: 5 };

// A fixed hash so an unknown email costs as much as a wrong password (no user enumeration by timing).
const DUMMY_HASH = Bun.password.hash("switchboard-dummy-password");

export function authRoutes(ctx: AppContext): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const db = ctx.database.db;
  const loginLimiter = new TokenBuckets(LOGIN_RATE);
  const passwordLimiter = new TokenBuckets(PASSWORD_RATE);
  const auth = requireAuth(ctx.tokens, ctx.metrics, db);

  const answer = (issued: IssuedTokens): TokenResponse => ({
    access_token: issued.access_token,
    refresh_token: issued.refresh_token,
    token_type: "Bearer",
    expires_in: ctx.tokens.accessTtlS,
    refresh_expires_in: ctx.tokens.refreshTtlS,
    user: toUserSummary(issued.user),
  });

  const refused = (err: unknown, via: string): never => {
    if (err instanceof TokenError) {
      ctx.metrics.authFailures.inc({ code: err.code, via });
      throw tokenRefusal(err);
    }
    throw err;
  };

  app.post("/login", async (c) => {
    const address = clientAddress(c, ctx.config.trustProxy);
    if (!loginLimiter.take(address))
      throw new HttpError(429, HTTP_ERROR_CODES.rateLimited, "too many login attempts; retry later");
    const body = await readJsonObject(c, ctx.config.httpBodyLimit);
    const { email, password } = LOGIN_BODY.parse(body, "");
    const user = await findUserByEmail(db, email);
    const ok = await verifyPassword(password, user?.passwordHash ?? (await DUMMY_HASH));
    if (!user || !ok) {
      ctx.metrics.authFailures.inc({ code: "invalid_credentials", via: "login" });
      throw unauthorized(LOGIN_FAILED, "invalid_credentials");
    }
    // Said only to someone who knows the password, so it reveals nothing to a guesser.
    if (!user.active) {
      ctx.metrics.authFailures.inc({ code: ERROR_CODES.accountDisabled, via: "login" });
      throw new HttpError(403, ERROR_CODES.accountDisabled, ACCOUNT_DISABLED);
    }
    return c.json(answer(await ctx.sessions.start(user)));
  });

  app.post("/refresh", async (c) => {
    const body = await readJsonObject(c, ctx.config.httpBodyLimit);
    const token = REFRESH_BODY.parse(body, "").refresh_token;
    const outcome = await ctx.sessions.rotate(token).catch((err) => refused(err, "refresh"));
    if (!outcome.ok) {
      // A reused token: whoever holds the session's sockets is no longer trusted either.
      if (outcome.revokedSessionId)
        ctx.liveSessions.endSession(outcome.revokedSessionId, ERROR_CODES.sessionRevoked);
      return refused(outcome.error, "refresh");
    }
    return c.json(answer(outcome.tokens));
  });

  app.post("/logout", async (c) => {
    const body = await readJsonObject(c, ctx.config.httpBodyLimit);
    const token = REFRESH_BODY.parse(body, "").refresh_token;
    const sessionId = await ctx.sessions.logout(token).catch((err) => refused(err, "logout"));
    if (sessionId) ctx.liveSessions.endSession(sessionId, ERROR_CODES.sessionRevoked);
    return c.body(null, 204);
  });

  app.post("/password", auth, async (c) => {
    const user = c.get("user");
    if (!passwordLimiter.take(user.id))
      throw new HttpError(429, HTTP_ERROR_CODES.rateLimited, "too many password changes; retry later");
    const raw = await readJsonObject(c, ctx.config.httpBodyLimit);
    let updated: typeof user;
    try {
      const body = CHANGE_PASSWORD_BODY.parse(raw, "");
      updated = await changeOwnPassword(db, user, body.current_password, body.new_password);
    } catch (err) {
      throw userAdminError(err);
    }
    ctx.liveSessions.endUserSessions(user.id, ERROR_CODES.sessionRevoked);
    return c.json(answer(await ctx.sessions.start(updated)));
  });

  // requireAuth has just read the user: no second lookup.
  app.get("/me", auth, (c) => c.json({ user: toUserSummary(c.get("user")) }));

  return app;
}
