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
 *
 * Group commit (group-commit.ts): the messages of one conversation that arrive while its statement
 * runs are accepted together, the statement taking them as a list: one row lock, one seq bump by
 * the number of messages, one commit. A message to an idle conversation is a list of one. Seqs
 * follow arrival order. Two messages with the same sender and key never share a batch (the second
 * waits for the next one, then finds the key claimed); a batch that fails is run again message by
 * message, so one bad message fails alone.
 */
import { sql } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { Database } from "../../db/client.ts";
import { rowsOf } from "../../db/raw-rows.ts";
import type { ConversationRow } from "../../db/schema.ts";
import type { MessageContent, MessageType, Uuid } from "../shared/events.ts";
import { BUMPED_RETURNING, type BumpedConversation, conversationAfter } from "./bumped-conversation.ts";
import { GroupCommit } from "./group-commit.ts";
import { IDEMPOTENCY_WINDOW_MS } from "./idempotency.ts";
import { prepared } from "./prepared.ts";

const p = (name: string) => sql.placeholder(name);
const expired = sql`now() - ${IDEMPOTENCY_WINDOW_MS} * interval '1 millisecond'`;

/**
 * The statement, over a batch of one conversation's messages (a JSON array, in arrival order; a
 * message alone is a batch of one). The messages whose key was claimed (or that have none) get
 * consecutive seqs after the conversation's `last_seq`, in the batch's order; the others store
 * nothing. Exported for scripts/load/pgbench, which runs this very text under pgbench.
 */
export const ACCEPT_MESSAGES = new PgDialect().sqlToQuery(sql`
  WITH input AS (
    SELECT * FROM ROWS FROM (jsonb_to_recordset(${p("batch")}::jsonb)
             AS (id uuid, sender_id uuid, key text, message_type message_type, content jsonb,
                 at timestamptz, budget_ms int)) WITH ORDINALITY AS t(id, sender_id, key, message_type,
                                                                    content, at, budget_ms, ord)
  ), swept AS (
    DELETE FROM idempotency_keys AS k
     USING (SELECT DISTINCT sender_id FROM input WHERE key IS NOT NULL) AS s
     WHERE k.user_id = s.sender_id AND k.created_at < ${expired}
       AND NOT EXISTS (SELECT 1 FROM input WHERE input.sender_id = k.user_id AND input.key = k.key)
  ), claim AS (
    INSERT INTO idempotency_keys (user_id, key, message_id, created_at)
    SELECT sender_id, key, id, now() FROM input
     WHERE key IS NOT NULL
       AND EXISTS (SELECT 1 FROM conversations WHERE id = ${p("conversationId")}::uuid)
    ON CONFLICT (user_id, key) DO UPDATE
       SET message_id = EXCLUDED.message_id, created_at = EXCLUDED.created_at
     WHERE idempotency_keys.created_at < ${expired}
    RETURNING message_id
  ), accepted AS (
    SELECT input.*, row_number() OVER (ORDER BY ord) AS n, count(*) OVER () AS total FROM input
     WHERE key IS NULL OR id IN (SELECT message_id FROM claim)
  ), bumped AS (
    UPDATE conversations
       SET last_seq = last_seq + (SELECT count(*) FROM accepted),
           last_message_at = GREATEST(COALESCE(last_message_at, (SELECT max(at) FROM accepted)),
                                      (SELECT max(at) FROM accepted))
     WHERE id = ${p("conversationId")}::uuid AND EXISTS (SELECT 1 FROM accepted)
    RETURNING ${BUMPED_RETURNING}
  ), inserted AS (
    INSERT INTO messages (id, conversation_id, organization_id, seq, direction, sender_type, sender_id,
                          message_type, content, status, created_at)
    SELECT a.id, ${p("conversationId")}::uuid, ${p("organizationId")}::uuid, bumped.last_seq - a.total + a.n,
           'outbound'::message_direction, 'agent'::sender_type, a.sender_id, a.message_type, a.content,
           'pending'::message_status, a.at
      FROM accepted AS a, bumped
    RETURNING id, seq
  ), queued AS (
    INSERT INTO outbox_jobs (kind, ref_id, state, attempts, next_attempt_at, deadline_at)
    SELECT 'send_message'::outbox_job_kind, inserted.id, 'queued'::outbox_job_state, 0, now(),
           now() + a.budget_ms * interval '1 millisecond'
      FROM inserted JOIN accepted AS a ON a.id = inserted.id
  )
  SELECT inserted.id, inserted.seq, bumped.contact_id, bumped.assigned_agent_id, bumped.status,
         bumped.last_message_at_ms, bumped.last_inbound_at_ms, bumped.created_at_ms
    FROM inserted, bumped`);

interface BatchRow extends BumpedConversation {
  id: string;
  seq: number;
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

/** Messages per batch at most (one JSON parameter: 128 of the largest text stay well under 1 MB). */
const MAX_BATCH = 128;

const sameKey = (a: AcceptInput, b: AcceptInput) =>
  a.idempotencyKey !== undefined && a.idempotencyKey === b.idempotencyKey && a.senderId === b.senderId;

/** One group commit per database, lanes by conversation. */
const batchers = new WeakMap<Database, GroupCommit<AcceptInput, ConversationRow | null>>();

function batcherOf(db: Database): GroupCommit<AcceptInput, ConversationRow | null> {
  let batcher = batchers.get(db);
  if (batcher === undefined) {
    batcher = new GroupCommit((batch) => acceptBatch(db, batch), {
      maxBatch: MAX_BATCH,
      fits: (batch, item) => !batch.some((other) => sameKey(other, item)),
    });
    batchers.set(db, batcher);
  }
  return batcher;
}

/**
 * Accepts one message. Returns the conversation's state after it (its `last_seq` is the message's
 * seq), or null when nothing was stored: the key was claimed by an earlier message, or the
 * conversation does not exist (the caller tells them apart with earlierMessageId). The message
 * commits with the others of its conversation that arrived while the previous statement ran.
 */
export function acceptMessage(db: Database, input: AcceptInput): Promise<ConversationRow | null> {
  return batcherOf(db).submit(input.conversationId, input);
}

type Accepted = PromiseSettledResult<ConversationRow | null>;

async function acceptBatch(db: Database, batch: AcceptInput[]): Promise<Accepted[]> {
  let rows: BatchRow[];
  try {
    rows = await acceptMany(db, batch);
  } catch (err) {
    if (batch.length === 1) throw err;
    // Nothing of the batch was stored (one statement): each message alone, in order, so that an
    // error stays with the message that causes it.
    const results: Accepted[] = [];
    for (const input of batch)
      results.push(await settle(acceptMany(db, [input]).then(([row]) => resultOf(input, row))));
    return results;
  }
  const byId = new Map(rows.map((row) => [row.id, row]));
  return batch.map((input) => ({ status: "fulfilled", value: resultOf(input, byId.get(input.id)) }));
}

/** The conversation after `input`'s message, from its row of the statement (none: not stored). */
function resultOf(input: AcceptInput, row: BatchRow | undefined): ConversationRow | null {
  // Every message of a batch shows the conversation as the batch left it, but for its own seq.
  return row ? conversationAfter(row, ids(input), Number(row.seq)) : null;
}

const settle = <T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> =>
  promise.then(
    (value) => ({ status: "fulfilled", value }),
    (reason: unknown) => ({ status: "rejected", reason }),
  );

const ids = (input: AcceptInput) => ({ id: input.conversationId, organizationId: input.organizationId });

async function acceptMany(db: Database, batch: AcceptInput[]): Promise<BatchRow[]> {
  const statement = prepared(db, "accept_message", () =>
    db._.session.prepareQuery(ACCEPT_MESSAGES, undefined, "accept_message", false),
  );
  const first = batch[0]!;
  return rowsOf<BatchRow>(
    await statement.execute({
      conversationId: first.conversationId,
      organizationId: first.organizationId,
      batch: JSON.stringify(
        batch.map((input) => ({
          id: input.id,
          sender_id: input.senderId,
          key: input.idempotencyKey ?? null,
          message_type: input.messageType,
          content: input.content,
          at: input.at.toISOString(),
          budget_ms: Math.max(0, Math.round(input.budgetMs)),
        })),
      ),
    }),
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
