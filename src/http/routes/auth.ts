/** POST /api/v1/auth/login, POST /api/v1/auth/refresh, GET /api/v1/auth/me. */
import { Hono } from "hono";
import type { UserRow } from "../../../db/schema.ts";
import { verifyPassword } from "../../auth/password.ts";
import { TokenError } from "../../auth/tokens.ts";
import type { AppContext } from "../../context.ts";
import { TokenBuckets } from "../../limits/token-bucket.ts";
import { findUserByEmail, findUserById, toUserSummary } from "../../services/users.ts";
import type { TokenResponse } from "../../shared/api.ts";
import { type AuthEnv, requireAuth } from "../auth.ts";
import { HTTP_ERROR_CODES, HttpError, unauthorized } from "../errors.ts";
import { LOGIN_BODY, REFRESH_BODY } from "../openapi/routes.ts";
import { clientAddress, readJsonObject } from "../validate.ts";

export const LOGIN_FAILED = "invalid email or password";
export const REFRESH_FAILED_UNKNOWN_USER = "the user of this refresh token no longer exists";
/** Login attempts per client address: 10 at once, then one every 6 seconds. */
const LOGIN_RATE = { ratePerSecond: 1 / 6, burst: 10 };

// A fixed hash so an unknown email costs as much as a wrong password (no user enumeration by timing).
const DUMMY_HASH = Bun.password.hash("switchboard-dummy-password");

export function authRoutes(ctx: AppContext): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const db = ctx.database.db;
  const loginLimiter = new TokenBuckets(LOGIN_RATE);

  const issue = async (user: UserRow): Promise<TokenResponse> => {
    const subject = { id: user.id, organization_id: user.organizationId, role: user.role };
    const [access_token, refresh_token] = await Promise.all([
      ctx.tokens.sign(subject, "access"),
      ctx.tokens.sign(subject, "refresh"),
    ]);
    return {
      access_token,
      refresh_token,
      token_type: "Bearer",
      expires_in: ctx.tokens.accessTtlS,
      refresh_expires_in: ctx.tokens.refreshTtlS,
      user: toUserSummary(user),
    };
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
    return c.json(await issue(user));
  });

  app.post("/refresh", async (c) => {
    const body = await readJsonObject(c, ctx.config.httpBodyLimit);
    const token = REFRESH_BODY.parse(body, "").refresh_token;
    let sub: string;
    try {
      sub = (await ctx.tokens.verify(token, "refresh")).sub;
    } catch (err) {
      if (err instanceof TokenError) {
        ctx.metrics.authFailures.inc({ code: err.code, via: "refresh" });
        throw unauthorized(err.message, err.code);
      }
      throw err;
    }
    const user = await findUserById(db, sub);
    if (!user) throw unauthorized(REFRESH_FAILED_UNKNOWN_USER, "unknown_user");
    return c.json(await issue(user));
  });

  // requireAuth has just read the user: no second lookup.
  app.get("/me", requireAuth(ctx.tokens, ctx.metrics, ctx.database.db), (c) =>
    c.json({ user: toUserSummary(c.get("user")) }),
  );

  return app;
}
