/**
 * Message persistence: storing a message with its per-conversation seq, moving statuses forward,
 * and reading history pages. Every function takes a `Database` or a transaction (`Tx`) so callers
 * decide the transaction boundary.
 */
import { and, asc, desc, eq, gt, inArray, lt, sql } from "drizzle-orm";
import type { Database, Tx } from "../../db/client.ts";
import { conversations, type MessageRow, messages } from "../../db/schema.ts";
import type {
  MessageContent,
  MessageDirection,
  MessageStatus,
  MessageType,
  SenderType,
  Uuid,
} from "../shared/events.ts";
import { predecessors } from "./message-status.ts";

type Queryable = Database | Tx;

/** A Date as a SQL timestamptz literal parameter (drivers disagree on binding raw Dates in `sql`). */
const tstz = (d: Date) => sql`${d.toISOString()}::timestamptz`;

export interface NewMessage {
  conversationId: Uuid;
  organizationId: Uuid;
  direction: MessageDirection;
  senderType: SenderType;
  senderId?: Uuid | null;
  messageType: MessageType;
  content: MessageContent;
  status?: MessageStatus;
  whatsappMessageId?: string | null;
  createdAt?: Date;
}

/**
 * Stores a message. Must run inside a transaction: the conversation's `last_seq` is bumped under its
 * row lock and the message takes that value, so seqs are gap-free and concurrent writers to one
 * conversation are serialized (scale-out gap detection relies on it).
 */
export async function insertMessage(tx: Tx, input: NewMessage): Promise<MessageRow> {
  const at = input.createdAt ?? new Date();
  const [bumped] = await tx
    .update(conversations)
    .set({
      lastSeq: sql`${conversations.lastSeq} + 1`,
      lastMessageAt: sql`GREATEST(COALESCE(${conversations.lastMessageAt}, ${tstz(at)}), ${tstz(at)})`,
    })
    .where(eq(conversations.id, input.conversationId))
    .returning({ seq: conversations.lastSeq });
  if (!bumped) throw new Error(`conversation ${input.conversationId} does not exist`);
  const status = input.status ?? "pending";
  const [row] = await tx
    .insert(messages)
    .values({
      conversationId: input.conversationId,
      organizationId: input.organizationId,
      seq: bumped.seq,
      direction: input.direction,
      senderType: input.senderType,
      senderId: input.senderId ?? null,
      messageType: input.messageType,
      content: input.content,
      status,
      whatsappMessageId: input.whatsappMessageId ?? null,
      createdAt: at,
      deliveredAt: status === "delivered" ? at : null,
    })
    .returning();
  return row!;
}

export interface StatusChange {
  status: MessageStatus;
  at: Date;
  errorCode?: string | null;
  errorMessage?: string | null;
  /** Set when the channel assigns its id (the "sent" step of an outbound message). */
  whatsappMessageId?: string;
}

/**
 * Moves a message forward to `change.status`, never backwards: the UPDATE is guarded by the statuses
 * it may come from, so concurrent or late reports cannot regress it. Skipped steps get the same
 * timestamp (a message read is also delivered). Returns the updated row, or null when it was a no-op.
 */
export async function advanceStatus(
  db: Queryable,
  where: { id: Uuid } | { whatsappMessageId: string },
  change: StatusChange,
): Promise<MessageRow | null> {
  const from = predecessors(change.status);
  const at = change.at;
  const stamp = (col: typeof messages.sentAt) => sql`COALESCE(${col}, ${tstz(at)})`;
  const set: Partial<Record<keyof MessageRow, unknown>> = { status: change.status };
  if (change.status === "failed") {
    set.failedAt = at;
    set.errorCode = change.errorCode ?? null;
    set.errorMessage = change.errorMessage ?? null;
  } else {
    set.sentAt = stamp(messages.sentAt);
    if (change.status === "delivered" || change.status === "read")
      set.deliveredAt = stamp(messages.deliveredAt);
    if (change.status === "read") set.readAt = stamp(messages.readAt);
  }
  if (change.whatsappMessageId) set.whatsappMessageId = change.whatsappMessageId;
  const key =
    "id" in where ? eq(messages.id, where.id) : eq(messages.whatsappMessageId, where.whatsappMessageId);
  const [row] = await db
    .update(messages)
    .set(set as Partial<typeof messages.$inferInsert>)
    .where(and(key, inArray(messages.status, from)))
    .returning();
  return row ?? null;
}

export async function findMessageByWhatsappId(
  db: Queryable,
  whatsappMessageId: string,
): Promise<MessageRow | null> {
  const [row] = await db
    .select()
    .from(messages)
    .where(eq(messages.whatsappMessageId, whatsappMessageId))
    .limit(1);
  return row ?? null;
}

export async function findMessage(db: Queryable, conversationId: Uuid, id: Uuid): Promise<MessageRow | null> {
  const [row] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.conversationId, conversationId), eq(messages.id, id)))
    .limit(1);
  return row ?? null;
}

export interface HistoryQuery {
  limit: number;
  /** Newest-first page of messages with seq below this. */
  before?: number;
  /** Oldest-first catch-up: messages with seq above this. */
  after?: number;
}

export async function listMessages(
  db: Queryable,
  conversationId: Uuid,
  query: HistoryQuery,
): Promise<{ rows: MessageRow[]; order: "asc" | "desc"; hasMore: boolean }> {
  const take = query.limit + 1;
  if (query.after !== undefined) {
    const rows = await db
      .select()
      .from(messages)
      .where(and(eq(messages.conversationId, conversationId), gt(messages.seq, query.after)))
      .orderBy(asc(messages.seq))
      .limit(take);
    return { rows: rows.slice(0, query.limit), order: "asc", hasMore: rows.length > query.limit };
  }
  const where =
    query.before !== undefined
      ? and(eq(messages.conversationId, conversationId), lt(messages.seq, query.before))
      : eq(messages.conversationId, conversationId);
  const rows = await db.select().from(messages).where(where).orderBy(desc(messages.seq)).limit(take);
  return { rows: rows.slice(0, query.limit), order: "desc", hasMore: rows.length > query.limit };
}
