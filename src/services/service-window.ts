/**
 * WhatsApp's customer-service window: for 24 hours after the contact's last message, a business
 * may send anything; outside it, only an approved template (the provider refuses free-form
 * messages). Tracked per conversation as `conversations.last_inbound_at`, set by every inbound
 * message (src/services/messages.ts INSERT_MESSAGE). Enforced before a message is stored when
 * SERVICE_WINDOW_ENFORCED is on (default with CHANNEL=whatsapp), so a refused send is a 409 at once
 * instead of a message that fails later at the provider.
 */
import { and, eq, max } from "drizzle-orm";
import type { Database, Tx } from "../../db/client.ts";
import { type ConversationRow, messages } from "../../db/schema.ts";
import type { MessageType } from "../shared/events.ts";

/** 24 hours, WhatsApp's window. */
export const SERVICE_WINDOW_MS = 24 * 60 * 60 * 1000;

/** When the window opened at `lastInboundAt` closes; null when the contact never wrote. */
export function serviceWindowExpiresAt(lastInboundAt: Date | null): Date | null {
  return lastInboundAt ? new Date(lastInboundAt.getTime() + SERVICE_WINDOW_MS) : null;
}

/** Templates are the only messages the provider delivers outside the window. */
export const allowedOutsideWindow = (messageType: MessageType): boolean => messageType === "template";

/**
 * The conversation's last inbound time. Rows from before the column existed have it null although
 * they may hold inbound messages: for those it is read from the messages (one indexed scan of the
 * conversation), until their next inbound message sets the column.
 */
export async function lastInboundAt(db: Database | Tx, conversation: ConversationRow): Promise<Date | null> {
  if (conversation.lastInboundAt) return conversation.lastInboundAt;
  const [row] = await db
    .select({ at: max(messages.createdAt) })
    .from(messages)
    .where(and(eq(messages.conversationId, conversation.id), eq(messages.direction, "inbound")));
  return row?.at ? new Date(row.at) : null;
}

export type WindowVerdict = { allowed: true } | { allowed: false; expiredAt: Date | null };

/** May a message of `messageType` be sent in `conversation` at `now`? */
export async function checkServiceWindow(
  db: Database | Tx,
  conversation: ConversationRow,
  messageType: MessageType,
  now: number = Date.now(),
): Promise<WindowVerdict> {
  if (allowedOutsideWindow(messageType)) return { allowed: true };
  const expires = serviceWindowExpiresAt(await lastInboundAt(db, conversation));
  return expires && expires.getTime() > now ? { allowed: true } : { allowed: false, expiredAt: expires };
}
