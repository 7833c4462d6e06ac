/**
 * POST /api/v1/media: upload a file (body = the bytes, Content-Type = its type; MEDIA_MAX_BYTES and
 * the accepted types of src/media/limits.ts), then send it with `content.media_id`.
 * GET /api/v1/media/:id: a stored media file, for users who may read its conversation (the same
 * rule as the conversation's history). Another organization's id answers 404, like a missing one.
 * A file still being fetched is 409 `media_pending`; one that could not be fetched is 410
 * `media_unavailable` with the reason.
 */
import { and, eq } from "drizzle-orm";
import { Hono } from "hono";
import { media } from "../../../db/schema.ts";
import type { AppContext } from "../../context.ts";
import { baseMimeType, isAllowedMediaType } from "../../media/limits.ts";
import { storeUpload } from "../../media/outbound.ts";
import { decideAccess } from "../../services/access.ts";
import { findConversation } from "../../services/conversations.ts";
import { API_PATHS, type MediaUploadResponse } from "../../shared/api.ts";
import { type AuthEnv, requireAuth } from "../auth.ts";
import { HTTP_ERROR_CODES, HttpError, invalid, notFound } from "../errors.ts";
import { MEDIA_ID } from "../openapi/routes.ts";
import { readRawBody } from "../validate.ts";

export const MEDIA_HTTP_CODES = { pending: "media_pending", unavailable: "media_unavailable" } as const;

/** Types a browser may show inline; everything else is offered as a download. */
const INLINE = /^(image\/(jpeg|png|webp)|audio\/|video\/)/;

export function mediaRoutes(ctx: AppContext): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const db = ctx.database.db;
  app.use("*", requireAuth(ctx.tokens, ctx.metrics, db));

  app.post("/", async (c) => {
    const principal = c.get("principal");
    if (principal.role === "viewer")
      throw new HttpError(403, HTTP_ERROR_CODES.forbidden, "viewers cannot upload media");
    const mimeType = baseMimeType(c.req.header("content-type"));
    if (!isAllowedMediaType(mimeType))
      throw new HttpError(
        415,
        HTTP_ERROR_CODES.unsupportedMediaType,
        `Content-Type: "${mimeType}" is not an accepted media type`,
        "Content-Type",
      );
    const bytes = await readRawBody(c, ctx.config.mediaMaxBytes);
    if (bytes.byteLength === 0) throw invalid("body", "is empty");
    const stored = await storeUpload(db, ctx.mediaStorage, principal.organization_id, bytes, mimeType);
    return c.json<MediaUploadResponse>(
      {
        media: {
          id: stored.id,
          mime_type: stored.mimeType,
          size_bytes: stored.sizeBytes,
          url: API_PATHS.media(stored.id),
        },
      },
      201,
    );
  });

  app.get("/:id", async (c) => {
    const principal = c.get("principal");
    const { id } = MEDIA_ID.parse(c.req.param(), "");
    const [row] = await db
      .select()
      .from(media)
      .where(and(eq(media.id, id), eq(media.organizationId, principal.organization_id)))
      .limit(1);
    if (!row) throw notFound("media");
    if (row.conversationId) {
      // The conversation's read rule (src/services/access.ts) decides who may open its files.
      const conversation = await findConversation(db, principal.organization_id, row.conversationId);
      const decision = decideAccess(principal, conversation, "read");
      if (decision.verdict === "not_found") throw notFound("media");
      if (decision.verdict === "forbidden")
        throw new HttpError(403, HTTP_ERROR_CODES.forbidden, decision.reason ?? "forbidden");
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
