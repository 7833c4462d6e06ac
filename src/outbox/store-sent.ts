/**
 * The provider ids of accepted sends, group-committed: message "sent" with its channel id and the
 * job deleted (fenced by its lease) go to the database as ONE statement per batch of marks that
 * finish close together (src/services/group-commit.ts, one lane: the first goes at once, the rest while it runs). A
 * statement is atomic, so each mark is as atomic as alone. If a batch is refused (one bad row: a
 * channel id already stored; a deadlock), each of its marks is tried by itself, so one bad row fails
 * only its own caller, with its own error (send-message.ts retries its commit as before).
 */
import { sql } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { Database } from "../../db/client.ts";
import { rowsOf } from "../../db/raw-rows.ts";
import { GroupCommit } from "../services/group-commit.ts";
import { batchedMatchSql, batchedStampsSql, predecessorsSql } from "../services/messages.ts";
import { prepared } from "../services/prepared.ts";
import { type ClaimedJob, leaseFence } from "./store.ts";

/** A send the provider accepted: its message, the provider's id, when, and the job's lease. */
export interface SentMark {
  job: ClaimedJob;
  messageId: string;
  whatsappMessageId: string;
  at: Date;
}

/** Marks per statement at most (OUTBOX_CONCURRENCY is at most 256: one node's finishing jobs fit). */
const MAX_BATCH = 256;

/**
 * Every mark's message moves only from the statuses "sent" may follow (src/services/message-status.ts),
 * whatever became of its lease, as a lone mark's did; every job is deleted only under its lease.
 * Exported for scripts/load/pgbench, which runs this very text under pgbench.
 */
export const STORE_SENT = new PgDialect().sqlToQuery(sql`
  WITH v AS (
    SELECT * FROM jsonb_to_recordset(${sql.placeholder("marks")}::jsonb)
      AS v(message_id uuid, wamid text, at timestamptz, job_id uuid, job_owner text, job_attempts int)
  ), sent AS (
    UPDATE messages AS m SET status = 'sent', whatsapp_message_id = v.wamid, ${batchedStampsSql("sent")}
      FROM v
     WHERE ${batchedMatchSql("id", "message_id")} AND m.status IN (${predecessorsSql("sent")})
    RETURNING m.id
  ), done AS (
    DELETE FROM outbox_jobs USING v WHERE ${leaseFence(sql`v.job_id`, sql`v.job_owner`, sql`v.job_attempts`)}
  )
  SELECT id FROM sent`);

/** Runs STORE_SENT for `marks`; the ids of the messages it moved to "sent". */
async function storeSent(db: Database, marks: readonly SentMark[]): Promise<Set<string>> {
  const statement = prepared(db, "store_sent", () =>
    db._.session.prepareQuery(STORE_SENT, undefined, "store_sent", false),
  );
  const rows = JSON.stringify(
    marks.map((m) => ({
      message_id: m.messageId,
      wamid: m.whatsappMessageId,
      at: m.at.toISOString(),
      job_id: m.job.id,
      job_owner: m.job.owner,
      job_attempts: m.job.attempts,
    })),
  );
  const result = (await statement.execute({ marks: rows })) as unknown;
  return new Set(rowsOf<{ id: string }>(result).map((r) => r.id));
}

export class SentStore {
  readonly #batches: GroupCommit<SentMark, boolean>;

  constructor(db: Database) {
    const one = async (mark: SentMark) => (await storeSent(db, [mark])).has(mark.messageId);
    this.#batches = new GroupCommit<SentMark, boolean>(
      async (marks) => {
        try {
          const advanced = await storeSent(db, marks);
          return marks.map((m) => ({ status: "fulfilled", value: advanced.has(m.messageId) }));
        } catch (err) {
          if (marks.length === 1) throw err;
          return Promise.allSettled(marks.map(one));
        }
      },
      // Two marks of one message (a lease taken over on this node) go one after the other, as alone.
      { maxBatch: MAX_BATCH, fits: (batch, m) => !batch.some((other) => other.messageId === m.messageId) },
    );
  }

  /** Stores a mark; true when its message moved to "sent" (false: a late or repeated attempt). */
  mark(mark: SentMark): Promise<boolean> {
    return this.#batches.submit("", mark);
  }
}
