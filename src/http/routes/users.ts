/**
 * User administration for org_admins, always inside their own organization:
 * GET/POST /api/v1/users, PATCH /api/v1/users/:id, POST /api/v1/users/:id/password.
 * The rules (validation, last admin, session revocation) are src/services/user-admin.ts, shared with
 * the CLI; this file maps them to HTTP and brings live sockets in line after each change.
 */
import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppContext } from "../../context.ts";
import {
  createUser,
  listUsers,
  resetPassword,
  toManagedUser,
  UserAdminError,
  type UserAdminErrorCode,
  updateUser,
} from "../../services/user-admin.ts";
import type { ManagedUserResponse, UserListResponse } from "../../shared/api.ts";
import { ERROR_CODES } from "../../shared/events.ts";
import { type AuthEnv, requireAuth } from "../auth.ts";
import { HTTP_ERROR_CODES, HttpError } from "../errors.ts";
import { CREATE_USER_BODY, RESET_PASSWORD_BODY, UPDATE_USER_BODY } from "../openapi/routes.ts";
import { readJsonObject } from "../validate.ts";

export const ADMIN_ONLY = "only an org_admin may manage users";

const STATUS_OF: Record<UserAdminErrorCode, ContentfulStatusCode> = {
  validation_error: 400,
  weak_password: 400,
  email_taken: 409,
  not_found: 404,
  organization_not_found: 404,
  organization_ambiguous: 409,
  last_admin: 409,
  wrong_password: 403,
};

/** A refused administration operation as an HttpError (anything else is rethrown as is). */
export function userAdminError(err: unknown): unknown {
  if (!(err instanceof UserAdminError)) return err;
  return new HttpError(STATUS_OF[err.code], err.code, err.message, err.field);
}

export function userRoutes(ctx: AppContext): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const db = ctx.database.db;
  app.use("*", requireAuth(ctx.tokens, ctx.metrics, db));
  app.use("*", async (c, next) => {
    if (c.get("principal").role !== "org_admin")
      throw new HttpError(403, HTTP_ERROR_CODES.forbidden, ADMIN_ONLY);
    await next();
  });
  app.onError((err) => {
    throw userAdminError(err);
  });

  const answer = (result: { user: Parameters<typeof toManagedUser>[0]; generatedPassword?: string }) => {
    const body: ManagedUserResponse = { user: toManagedUser(result.user) };
    if (result.generatedPassword) body.password = result.generatedPassword;
    return body;
  };

  app.get("/", async (c) => {
    const rows = await listUsers(db, c.get("principal").organization_id);
    return c.json({ data: rows.map(toManagedUser) } satisfies UserListResponse);
  });

  app.post("/", async (c) => {
    const body = CREATE_USER_BODY.parse(await readJsonObject(c, ctx.config.httpBodyLimit), "");
    const created = await createUser(db, c.get("principal").organization_id, body);
    return c.json(answer(created), 201);
  });

  app.patch("/:id", async (c) => {
    const changes = UPDATE_USER_BODY.parse(await readJsonObject(c, ctx.config.httpBodyLimit), "");
    const update = await updateUser(db, c.get("principal").organization_id, c.req.param("id"), changes);
    if (update.deactivated) ctx.liveSessions.endUserSessions(update.user.id, ERROR_CODES.accountDisabled);
    // A new role: each socket keeps its connection and loses only what the new role may not see.
    else if (update.roleChanged) await ctx.liveAccess.userChanged(update.user.id);
    return c.json({ user: toManagedUser(update.user) });
  });

  app.post("/:id/password", async (c) => {
    const body = RESET_PASSWORD_BODY.parse(await readJsonObject(c, ctx.config.httpBodyLimit), "");
    const reset = await resetPassword(
      db,
      c.get("principal").organization_id,
      c.req.param("id"),
      body.password,
    );
    ctx.liveSessions.endUserSessions(reset.user.id, ERROR_CODES.sessionRevoked);
    return c.json(answer(reset));
  });

  return app;
}
