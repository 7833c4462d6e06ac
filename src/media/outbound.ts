/**
 * Outbound media: an upload (`POST /api/v1/media`) is stored at once as a ready media row of the
 * organization, not yet tied to a conversation; the first message that sends it ties it to that
 * conversation (from then on only readers of that conversation may read it, and it cannot be sent
 * elsewhere). The send job reads the file from storage and the channel uploads it to the provider.
 */
import { randomUUID } from "node:crypto";
import { and, eq, isNull, or } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { media } from "../../db/schema.ts";
import { API_PATHS } from "../shared/api.ts";
import type { MessageContent, Uuid } from "../shared/events.ts";
import type { MediaStorage } from "./storage.ts";

export interface StoredUpload {
  id: Uuid;
  mimeType: string;
  sizeBytes: number;
}

/** Stores an upload (type and size already checked by the caller). */
export async function storeUpload(
  db: Database,
  storage: MediaStorage,
  organizationId: Uuid,
  bytes: Uint8Array,
  mimeType: string,
): Promise<StoredUpload> {
  const id = randomUUID();
  const storageKey = `${organizationId}/${id}`;
  await storage.put(storageKey, bytes);
  await db.insert(media).values({
    id,
    organizationId,
    mimeType,
    sizeBytes: bytes.byteLength,
    storageKey,
    status: "ready",
  });
  return { id, mimeType, sizeBytes: bytes.byteLength };
}

/**
 * Ties media `mediaId` to the conversation a message is sent in, and answers the message content
 * that names it; null when the file is not the organization's, not ready, or another conversation's.
 */
export async function attachToConversation(
  db: Database,
  organizationId: Uuid,
  conversationId: Uuid,
  mediaId: Uuid,
  content: MessageContent,
): Promise<MessageContent | null> {
  const [row] = await db
    .update(media)
    .set({ conversationId })
    .where(
      and(
        eq(media.id, mediaId),
        eq(media.organizationId, organizationId),
        eq(media.status, "ready"),
        or(isNull(media.conversationId), eq(media.conversationId, conversationId)),
      ),
    )
    .returning();
  if (!row) return null;
  return {
    ...content,
    media_id: row.id,
    url: API_PATHS.media(row.id),
    ...(row.mimeType ? { mime_type: row.mimeType } : {}),
  };
}
