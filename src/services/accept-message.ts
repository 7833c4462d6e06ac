/**
 * Accepting an agent's message is ONE statement (one round trip, no BEGIN/COMMIT): a
 * data-modifying CTE claims the idempotency key, bumps the conversation's `last_seq` under its row
 * lock, inserts the message ("pending") and queues its send job. A statement is atomic, so the
 * guarantees of the transaction it replaces hold: the message and its job commit together or not
 * at all, and a key names a message only if that message was stored.
 *
 * Idempotency (src/services/idempotency.ts): the key's claim is an INSERT … ON CONFLICT on the
 * (user, key) primary key. A concurrent duplicate waits on the first statement's row lock, then
 * finds the committed key and claims nothing: the statement stores nothing and returns no row, and
 * the caller reads the earlier message in a new statement (a new snapshot, which sees that commit).
 * The claim is a one-time filter of the conversation UPDATE, so the key's lock is taken before the
 * conversation's, in the order the transaction took them: no deadlock between duplicates.
 * Storage hygiene: the sender's keys past the window are deleted in the same statement.
 */
import { sql } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { Database } from "../../db/client.ts";
import { rowsOf } from "../../db/raw-rows.ts";
import type { ConversationRow } from "../../db/schema.ts";
import type { MessageContent, MessageType, Uuid } from "../shared/events.ts";
import { BUMPED_RETURNING, type BumpedConversation, conversationAfter } from "./bumped-conversation.ts";
import { IDEMPOTENCY_WINDOW_MS } from "./idempotency.ts";
import { prepared } from "./prepared.ts";

const p = (name: string) => sql.placeholder(name);
const expired = sql`now() - ${IDEMPOTENCY_WINDOW_MS} * interval '1 millisecond'`;

const ACCEPT_MESSAGE = new PgDialect().sqlToQuery(sql`
  WITH swept AS (
    DELETE FROM idempotency_keys
     WHERE ${p("key")}::text IS NOT NULL AND user_id = ${p("senderId")}::uuid
       AND key <> ${p("key")}::text AND created_at < ${expired}
  ), claim AS (
    INSERT INTO idempotency_keys (user_id, key, message_id, created_at)
    SELECT ${p("senderId")}::uuid, ${p("key")}::text, ${p("id")}::uuid, now()
     WHERE ${p("key")}::text IS NOT NULL
       -- No key may name a message that was not stored (a conversation that does not exist).
       AND EXISTS (SELECT 1 FROM conversations WHERE id = ${p("conversationId")}::uuid)
    ON CONFLICT (user_id, key) DO UPDATE
       SET message_id = EXCLUDED.message_id, created_at = EXCLUDED.created_at
     WHERE idempotency_keys.created_at < ${expired}
    RETURNING message_id
  ), bumped AS (
    UPDATE conversations
       SET last_seq = last_seq + 1,
           last_message_at = GREATEST(COALESCE(last_message_at, ${p("at")}::timestamptz), ${p("at")}::timestamptz)
     WHERE id = ${p("conversationId")}::uuid
       AND (${p("key")}::text IS NULL OR EXISTS (SELECT 1 FROM claim))
    RETURNING ${BUMPED_RETURNING}
  ), inserted AS (
    INSERT INTO messages (id, conversation_id, organization_id, seq, direction, sender_type, sender_id,
                          message_type, content, status, created_at)
    SELECT ${p("id")}::uuid, ${p("conversationId")}::uuid, ${p("organizationId")}::uuid, bumped.last_seq,
           'outbound'::message_direction, 'agent'::sender_type, ${p("senderId")}::uuid,
           ${p("messageType")}::message_type, ${p("content")}::jsonb, 'pending'::message_status,
           ${p("at")}::timestamptz
      FROM bumped
    RETURNING id
  ), queued AS (
    INSERT INTO outbox_jobs (kind, ref_id, state, attempts, next_attempt_at, deadline_at)
    SELECT 'send_message'::outbox_job_kind, inserted.id, 'queued'::outbox_job_state, 0, now(),
           now() + ${p("budgetMs")}::int * interval '1 millisecond'
      FROM inserted
  )
  SELECT bumped.last_seq, bumped.contact_id, bumped.assigned_agent_id, bumped.status,
         bumped.last_message_at_ms, bumped.last_inbound_at_ms, bumped.created_at_ms
    FROM bumped, inserted`);

interface AcceptedRow extends BumpedConversation {
  last_seq: number;
}

export interface AcceptInput {
  id: Uuid;
  conversationId: Uuid;
  organizationId: Uuid;
  senderId: Uuid;
  messageType: MessageType;
  content: MessageContent;
  idempotencyKey: string | undefined;
  at: Date;
  /** The send job's retry budget. */
  budgetMs: number;
}

/**
 * Runs the statement. Returns the conversation's state after the message (its `last_seq` is the
 * message's seq), or null when nothing was stored: the key was claimed by an earlier message, or
 * the conversation does not exist (the caller tells them apart with earlierMessageId).
 */
export async function acceptMessage(db: Database, input: AcceptInput): Promise<ConversationRow | null> {
  const statement = prepared(db, "accept_message", () =>
    db._.session.prepareQuery(ACCEPT_MESSAGE, undefined, "accept_message", false),
  );
  const [row] = rowsOf<AcceptedRow>(
    await statement.execute({
      id: input.id,
      conversationId: input.conversationId,
      organizationId: input.organizationId,
      senderId: input.senderId,
      messageType: input.messageType,
      content: JSON.stringify(input.content),
      key: input.idempotencyKey ?? null,
      at: input.at.toISOString(),
      budgetMs: Math.max(0, Math.round(input.budgetMs)),
    }),
  );
  if (!row) return null;
  return conversationAfter(
    row,
    { id: input.conversationId, organizationId: input.organizationId },
    Number(row.last_seq),
  );
}

/** The message an earlier request claimed `key` for, or null. */
export async function earlierMessageId(db: Database, userId: Uuid, key: string): Promise<Uuid | null> {
  const [row] = rowsOf<{ message_id: string }>(
    await db.execute(
      sql`SELECT message_id FROM idempotency_keys WHERE user_id = ${userId}::uuid AND key = ${key}`,
    ),
  );
  return row?.message_id ?? null;
}
