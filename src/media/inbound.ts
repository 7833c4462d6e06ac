/**
 * Inbound attachments: a webhook message that names a provider media id (`whatsapp-media:<id>`,
 * see src/http/webhooks/whatsapp-payload.ts) is stored pointing at Switchboard's own media URL, and
 * a media row plus its `fetch_media` job are committed in the same transaction as the message, so
 * the download is retried by the outbox worker like any send.
 */
import { randomUUID } from "node:crypto";
import type { Database, Tx } from "../../db/client.ts";
import { media } from "../../db/schema.ts";
import { enqueueJob } from "../outbox/store.ts";
import { API_PATHS } from "../shared/api.ts";
import type { MessageContent, Uuid } from "../shared/events.ts";

const PROVIDER_MEDIA_PREFIX = "whatsapp-media:";
/** How long a failing download is retried. */
export const MEDIA_FETCH_BUDGET_MS = 6 * 3600_000;

export interface InboundMediaPlan {
  /** The message content to store: `url` and `media_id` name Switchboard's copy. */
  content: MessageContent;
  /** Registers the media row and its fetch job (same transaction as the message). */
  register(
    tx: Database | Tx,
    where: { organizationId: Uuid; conversationId: Uuid; messageId: Uuid },
  ): Promise<void>;
}

/** Null when the content carries no provider media id. */
export function planInboundMedia(content: MessageContent): InboundMediaPlan | null {
  const url = content.url;
  if (!url?.startsWith(PROVIDER_MEDIA_PREFIX)) return null;
  const providerMediaId = url.slice(PROVIDER_MEDIA_PREFIX.length);
  if (!providerMediaId) return null;
  const id = randomUUID();
  return {
    content: { ...content, url: API_PATHS.media(id), media_id: id },
    async register(tx, where) {
      await tx.insert(media).values({
        id,
        organizationId: where.organizationId,
        conversationId: where.conversationId,
        messageId: where.messageId,
        providerMediaId,
        mimeType: content.mime_type ?? null,
        status: "pending",
      });
      await enqueueJob(tx, { kind: "fetch_media", refId: id, budgetMs: MEDIA_FETCH_BUDGET_MS });
    },
  };
}
