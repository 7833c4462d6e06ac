/** GET /api/v1/presence: the organization's agents and org_admins with online / away / offline. */
import { Hono } from "hono";
import type { AppContext } from "../../context.ts";
import type { PresenceList } from "../../shared/api.ts";
import { type AuthEnv, requireAuth } from "../auth.ts";
import { HTTP_ERROR_CODES, HttpError } from "../errors.ts";

export function presenceRoutes(ctx: AppContext): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  app.use("*", requireAuth(ctx.tokens, ctx.metrics, ctx.database.db));
  app.get("/", async (c) => {
    if (!ctx.presence)
      throw new HttpError(503, HTTP_ERROR_CODES.unavailable, "presence is not available yet");
    const data = await ctx.presence.list(c.get("principal").organization_id);
    return c.json<PresenceList>({ data });
  });
  return app;
}
