/**
 * GET /api/v1/media/:id: a stored media file, for users who may read its conversation (the same
 * rule as the conversation's history). Another organization's id answers 404, like a missing one.
 * A file still being fetched is 409 `media_pending`; one that could not be fetched is 410
 * `media_unavailable` with the reason.
 */
import { and, eq } from "drizzle-orm";
import { Hono } from "hono";
import { media } from "../../../db/schema.ts";
import type { AppContext } from "../../context.ts";
import { canWatch, findConversation } from "../../services/conversations.ts";
import { type AuthEnv, requireAuth } from "../auth.ts";
import { HTTP_ERROR_CODES, HttpError, notFound } from "../errors.ts";
import { uuidParam } from "../validate.ts";

export const MEDIA_HTTP_CODES = { pending: "media_pending", unavailable: "media_unavailable" } as const;

/** Types a browser may show inline; everything else is offered as a download. */
const INLINE = /^(image\/(jpeg|png|webp)|audio\/|video\/)/;

export function mediaRoutes(ctx: AppContext): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const db = ctx.database.db;
  app.use("*", requireAuth(ctx.tokens, ctx.metrics, db));

  app.get("/:id", async (c) => {
    const principal = c.get("principal");
    const id = uuidParam(c.req.param("id"), "id");
    const [row] = await db
      .select()
      .from(media)
      .where(and(eq(media.id, id), eq(media.organizationId, principal.organization_id)))
      .limit(1);
    if (!row) throw notFound("media");
    if (row.conversationId) {
      // Seam: the central access module replaces canWatch here (read access to the conversation).
      const conversation = await findConversation(db, principal.organization_id, row.conversationId);
      const verdict = canWatch(principal, conversation);
      if (verdict === "not_found") throw notFound("media");
      if (verdict === "forbidden")
        throw new HttpError(
          403,
          HTTP_ERROR_CODES.forbidden,
          "this conversation is assigned to another agent",
        );
    }
    if (row.status === "pending")
      throw new HttpError(
        409,
        MEDIA_HTTP_CODES.pending,
        "the media file is still being fetched; retry shortly",
      );
    const bytes =
      row.status === "ready" && row.storageKey ? await ctx.mediaStorage.get(row.storageKey) : null;
    if (!bytes)
      throw new HttpError(
        410,
        MEDIA_HTTP_CODES.unavailable,
        `the media file is not available${row.errorMessage ? `: ${row.errorMessage}` : ""}`,
      );
    const type = row.mimeType ?? "application/octet-stream";
    return new Response(bytes, {
      status: 200,
      headers: {
        "content-type": type,
        "content-length": String(bytes.byteLength),
        "content-disposition": `${INLINE.test(type) ? "inline" : "attachment"}; filename="${row.id}"`,
        // Never rendered as a page of this origin, whatever the provider claimed the type was.
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
        "cache-control": "private, max-age=3600",
      },
    });
  });

  return app;
}
