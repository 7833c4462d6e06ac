/**
 * Message persistence: storing a message with its per-conversation seq, moving statuses forward,
 * and reading history pages. Every function takes a `Database` or a transaction (`Tx`) so callers
 * decide the transaction boundary.
 */
import { randomUUID } from "node:crypto";
import { and, asc, desc, eq, getTableColumns, gt, inArray, lt, sql } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { Database, Tx } from "../../db/client.ts";
import { rowsOf } from "../../db/raw-rows.ts";
import { type ConversationRow, type MessageRow, messages } from "../../db/schema.ts";
import type {
  MessageContent,
  MessageDirection,
  MessageStatus,
  MessageType,
  SenderType,
  Uuid,
} from "../shared/events.ts";
import { BUMPED_RETURNING, type BumpedConversation, conversationAfter } from "./bumped-conversation.ts";
import { predecessors, stampsOf } from "./message-status.ts";
import { prepared } from "./prepared.ts";

type Queryable = Database | Tx;

export interface NewMessage {
  /** Chosen by the caller when something else in its transaction must name the message first. */
  id?: Uuid;
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

/** The rows of a raw query: postgres drivers give an array, PGlite `{ rows }`. */
/** A placeholder bound as a timestamptz (its value is an ISO string; drivers disagree on raw Dates). */
const tstzPlaceholder = (name: string) => sql`${sql.placeholder(name)}::timestamptz`;

/**
 * One statement: a data-modifying CTE bumps the conversation's `last_seq` under its row lock, the
 * INSERT takes that value, and the conversation's new state comes back with the seq (for the
 * inbox's `conversation:updated`). Built once; its values are placeholders. Timestamps come back as
 * epoch milliseconds because the drivers disagree on how they return a raw timestamptz.
 */
const INSERT_MESSAGE = new PgDialect().sqlToQuery(sql`
  WITH bumped AS (
    UPDATE conversations
       SET last_seq = last_seq + 1,
           last_message_at = GREATEST(COALESCE(last_message_at, ${tstzPlaceholder("at")}), ${tstzPlaceholder("at")}),
           -- The service window (src/services/service-window.ts) runs from the contact's last message.
           last_inbound_at = CASE WHEN ${sql.placeholder("direction")}::message_direction = 'inbound'
                                  THEN GREATEST(COALESCE(last_inbound_at, ${tstzPlaceholder("at")}), ${tstzPlaceholder("at")})
                                  ELSE last_inbound_at END
     WHERE id = ${sql.placeholder("conversationId")}::uuid
    RETURNING ${BUMPED_RETURNING}
  ), inserted AS (
    INSERT INTO messages (id, conversation_id, organization_id, seq, direction, sender_type, sender_id,
                          message_type, content, status, whatsapp_message_id, created_at, delivered_at)
    SELECT ${sql.placeholder("id")}::uuid, ${sql.placeholder("conversationId")}::uuid,
           ${sql.placeholder("organizationId")}::uuid, bumped.last_seq,
           ${sql.placeholder("direction")}::message_direction, ${sql.placeholder("senderType")}::sender_type,
           ${sql.placeholder("senderId")}::uuid, ${sql.placeholder("messageType")}::message_type,
           ${sql.placeholder("content")}::jsonb, ${sql.placeholder("status")}::message_status,
           ${sql.placeholder("whatsappMessageId")}::text, ${tstzPlaceholder("at")},
           ${tstzPlaceholder("deliveredAt")}
      FROM bumped
    RETURNING seq
  )
  SELECT inserted.seq, bumped.contact_id, bumped.assigned_agent_id, bumped.status,
         bumped.last_message_at_ms, bumped.last_inbound_at_ms, bumped.created_at_ms
    FROM inserted, bumped`);

interface InsertedRow extends BumpedConversation {
  seq: number;
}

/** A stored message and its conversation's state right after it (last_seq, last_message_at). */
export interface StoredMessage {
  message: MessageRow;
  conversation: ConversationRow;
}

/**
 * Stores a message in ONE statement (see INSERT_MESSAGE), so seqs are gap-free, concurrent writers
 * to one conversation are serialized (scale-out gap detection relies on it), and no explicit
 * transaction (BEGIN/COMMIT round trips) is needed; inside one it joins it. Every column of the new
 * row is known here (the id is generated, not defaulted), so only the seq and the conversation's
 * state come back.
 */
export async function insertMessage(db: Queryable, input: NewMessage): Promise<StoredMessage> {
  const at = input.createdAt ?? new Date();
  const id = input.id ?? randomUUID();
  const status = input.status ?? "pending";
  const deliveredAt = status === "delivered" ? at : null;
  const statement = prepared(db, "insert_message", () =>
    db._.session.prepareQuery(INSERT_MESSAGE, undefined, "insert_message", false),
  );
  const result = await statement.execute({
    id,
    conversationId: input.conversationId,
    organizationId: input.organizationId,
    direction: input.direction,
    senderType: input.senderType,
    senderId: input.senderId ?? null,
    messageType: input.messageType,
    content: JSON.stringify(input.content),
    status,
    whatsappMessageId: input.whatsappMessageId ?? null,
    at: at.toISOString(),
    deliveredAt: deliveredAt?.toISOString() ?? null,
  });
  const [stored] = rowsOf<InsertedRow>(result);
  if (!stored) throw new Error(`conversation ${input.conversationId} does not exist`);
  const seq = Number(stored.seq);
  const message: MessageRow = {
    id,
    conversationId: input.conversationId,
    organizationId: input.organizationId,
    seq,
    direction: input.direction,
    senderType: input.senderType,
    senderId: input.senderId ?? null,
    messageType: input.messageType,
    content: input.content,
    status,
    whatsappMessageId: input.whatsappMessageId ?? null,
    errorCode: null,
    errorMessage: null,
    createdAt: at,
    sentAt: null,
    deliveredAt,
    readAt: null,
    failedAt: null,
  };
  const conversation = conversationAfter(
    stored,
    { id: input.conversationId, organizationId: input.organizationId },
    seq,
  );
  return { message, conversation };
}

export interface StatusChange {
  status: MessageStatus;
  at: Date;
  errorCode?: string | null;
  errorMessage?: string | null;
  /** Set when the channel assigns its id (the "sent" step of an outbound message). */
  whatsappMessageId?: string;
}

/** `'pending', 'sent'`: statuses as an SQL list (they are constants, never input). */
const sqlList = (statuses: readonly MessageStatus[]) => statuses.map((s) => `'${s}'`).join(", ");

/**
 * `'pending', 'sent'`: the statuses `to` may be reached from, as an SQL list for the raw statements
 * that guard a status change (`status IN (…)`), as advanceStatus's guard does.
 */
export const predecessorsSql = (to: MessageStatus) => sql.raw(sqlList(predecessors(to)));

/** A status a batched UPDATE moves messages to ("failed" carries a reason per message: one at a time). */
export type BatchedStatus = Exclude<MessageStatus, "failed" | "pending">;

/**
 * `sent_at = COALESCE(m.sent_at, v.at), …`: the step times a batched UPDATE (`messages AS m`, its
 * values `v` with a column `at`) sets when it moves messages to `to`, each set once. With several
 * statuses (each row's in `v.status`), a time that only some of them stamp is set on their rows only.
 */
export function batchedStampsSql(to: BatchedStatus | readonly BatchedStatus[]) {
  const statuses = typeof to === "string" ? [to] : to;
  const columns = getTableColumns(messages);
  const stamps = [...new Set(statuses.flatMap((s) => stampsOf(s)))];
  return sql.join(
    stamps.map((stamp) => {
      const col = columns[stamp].name;
      const once = `COALESCE(m.${col}, v.at)`;
      const by = statuses.filter((s) => stampsOf(s).includes(stamp));
      return sql.raw(
        by.length === statuses.length
          ? `${col} = ${once}`
          : `${col} = CASE WHEN v.status IN (${sqlList(by)}) THEN ${once} ELSE m.${col} END`,
      );
    }),
    sql`, `,
  );
}

/**
 * The guard of a batched UPDATE whose rows each carry their status (`v.status`, one of `to`): each
 * message moves only from the statuses its row's status may follow, as advanceStatus's guard.
 */
export const batchedGuardSql = (to: readonly BatchedStatus[]) =>
  sql.raw(
    `CASE v.status ${to.map((s) => `WHEN '${s}' THEN m.status IN (${sqlList(predecessors(s))})`).join(" ")} ELSE false END`,
  );

/**
 * `m.<column> = v.<key>`: the rows of a batched UPDATE (`messages AS m`) matched to its values (a
 * CTE `v`), also written as `= ANY (ARRAY(SELECT … FROM v))` so PostgreSQL looks them up by index.
 * Without it, guessing 100 rows for the values, it scanned every message (a hash join) once the
 * table held a few thousand.
 */
export const batchedMatchSql = (column: "id" | "whatsapp_message_id", key: string) =>
  sql.raw(`m.${column} = v.${key} AND m.${column} = ANY (ARRAY(SELECT v.${key} FROM v))`);

/** `COALESCE(col, at)`: a step's time is set once, by the first report that reaches it. */
const stampOnce = (col: typeof messages.sentAt) => sql`COALESCE(${col}, ${tstzPlaceholder("at")})`;

/** The guarded UPDATE for one shape of status change, with placeholders `key`, `at`, `errorCode`, `errorMessage`, `whatsappMessageId`. */
function buildAdvance(
  db: Queryable,
  name: string,
  status: MessageStatus,
  byId: boolean,
  setsChannelId: boolean,
) {
  const set: Partial<Record<keyof MessageRow, unknown>> = { status };
  if (status === "failed") {
    set.failedAt = tstzPlaceholder("at");
    set.errorCode = sql.placeholder("errorCode");
    set.errorMessage = sql.placeholder("errorMessage");
  } else {
    for (const stamp of stampsOf(status)) set[stamp] = stampOnce(messages[stamp]);
  }
  if (setsChannelId) set.whatsappMessageId = sql.placeholder("whatsappMessageId");
  const key = byId
    ? eq(messages.id, sql.placeholder("key"))
    : eq(messages.whatsappMessageId, sql.placeholder("key"));
  return db
    .update(messages)
    .set(set as Partial<typeof messages.$inferInsert>)
    .where(and(key, inArray(messages.status, predecessors(status))))
    .returning()
    .prepare(name);
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
  const byId = "id" in where;
  const setsChannelId = change.whatsappMessageId !== undefined && change.whatsappMessageId !== "";
  const name = `advance_status_${change.status}_${byId ? "id" : "wamid"}${setsChannelId ? "_channel_id" : ""}`;
  const statement = prepared(db, name, () => buildAdvance(db, name, change.status, byId, setsChannelId));
  const [row] = await statement.execute({
    key: byId ? where.id : where.whatsappMessageId,
    at: change.at.toISOString(),
    errorCode: change.errorCode ?? null,
    errorMessage: change.errorMessage ?? null,
    whatsappMessageId: change.whatsappMessageId ?? null,
  });
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
