/**
 * The outbox table's statements (db/schema.ts outboxJobs). Jobs are claimed with
 * `FOR UPDATE SKIP LOCKED` into a lease that names the node and expires; every statement that
 * settles a job is fenced by (owner, attempts), so a node whose lease was taken over cannot
 * overwrite the new holder's work. Times come from the database clock, shared by every node.
 */

import { type SQL, sql } from "drizzle-orm";
import type { Database, Tx } from "../../db/client.ts";
import { rowsOf } from "../../db/raw-rows.ts";
import type { OutboxJobRow } from "../../db/schema.ts";

type Queryable = Database | Tx;
export type JobKind = OutboxJobRow["kind"];
export type JobState = OutboxJobRow["state"];

/** A job this node holds: settle it with the same object (its attempts are the fencing token). */
export interface ClaimedJob {
  id: string;
  kind: JobKind;
  refId: string;
  /** Attempts including this one (1 on the first). */
  attempts: number;
  /** Retryable failures are retried until this time (ms since epoch). */
  deadlineMs: number;
  owner: string;
}

export interface StateCount {
  state: JobState;
  count: number;
  /** Age of the oldest job in this state, in ms. */
  oldestMs: number;
}

const ms = (n: number) => sql`(${Math.max(0, Math.round(n))} * interval '1 millisecond')`;

/**
 * Queues a job in the caller's transaction. A job for the same row that exists already (a failed
 * one, on retry) starts over: attempts 0, due now, a fresh retry budget.
 */
export async function enqueueJob(
  db: Queryable,
  job: { kind: JobKind; refId: string; budgetMs: number },
): Promise<void> {
  await db.execute(sql`
    INSERT INTO outbox_jobs (kind, ref_id, state, attempts, next_attempt_at, deadline_at)
    VALUES (${job.kind}::outbox_job_kind, ${job.refId}::uuid, 'queued', 0, now(), now() + ${ms(job.budgetMs)})
    ON CONFLICT (kind, ref_id) DO UPDATE
       SET state = 'queued', attempts = 0, next_attempt_at = now(), deadline_at = EXCLUDED.deadline_at,
           lease_owner = NULL, lease_expires_at = NULL, last_error_code = NULL, last_error = NULL,
           updated_at = now()`);
}

interface ClaimRow {
  id: string;
  kind: JobKind;
  ref_id: string;
  attempts: number;
  deadline_ms: number;
}

/** Leases up to `limit` due jobs (queued and due, or leased by anyone with an expired lease). */
export async function claimJobs(
  db: Database,
  owner: string,
  limit: number,
  leaseMs: number,
): Promise<ClaimedJob[]> {
  const result = await db.execute(sql`
    UPDATE outbox_jobs AS j
       SET state = 'leased', lease_owner = ${owner}, lease_expires_at = now() + ${ms(leaseMs)},
           attempts = j.attempts + 1, updated_at = now()
      FROM (SELECT id FROM outbox_jobs
             WHERE (state = 'queued' AND next_attempt_at <= now())
                OR (state = 'leased' AND lease_expires_at <= now())
             ORDER BY next_attempt_at
             LIMIT ${limit}
             FOR UPDATE SKIP LOCKED) AS due
     WHERE j.id = due.id
    RETURNING j.id, j.kind, j.ref_id, j.attempts,
              (extract(epoch FROM j.deadline_at) * 1000)::float8 AS deadline_ms`);
  return rowsOf<ClaimRow>(result).map((r) => ({
    id: r.id,
    kind: r.kind,
    refId: r.ref_id,
    attempts: Number(r.attempts),
    deadlineMs: Number(r.deadline_ms),
    owner,
  }));
}

/**
 * A job row still held by the lease it was claimed with: `id`, `owner`, `attempts` are SQL values
 * (one job's parameters, or the columns of a batch's rows).
 */
export const leaseFence = (id: SQL, owner: SQL, attempts: SQL) =>
  sql`id = ${id} AND state = 'leased' AND lease_owner = ${owner} AND attempts = ${attempts}`;

const fence = (job: ClaimedJob) => leaseFence(sql`${job.id}::uuid`, sql`${job.owner}`, sql`${job.attempts}`);

/** The job is done: deleted. False when the lease was lost meanwhile. */
export async function completeJob(db: Queryable, job: ClaimedJob): Promise<boolean> {
  const result = await db.execute(sql`DELETE FROM outbox_jobs WHERE ${fence(job)} RETURNING id`);
  return rowsOf(result).length > 0;
}

/** Back to the queue, due after `delayMs`, remembering why. */
export async function rescheduleJob(
  db: Queryable,
  job: ClaimedJob,
  delayMs: number,
  error: { code: string; message: string },
): Promise<boolean> {
  const result = await db.execute(sql`
    UPDATE outbox_jobs
       SET state = 'queued', next_attempt_at = now() + ${ms(delayMs)}, lease_owner = NULL,
           lease_expires_at = NULL, last_error_code = ${error.code}, last_error = ${error.message},
           updated_at = now()
     WHERE ${fence(job)} RETURNING id`);
  return rowsOf(result).length > 0;
}

/** Given up: kept as failed (the retry endpoint starts it over). */
export async function failJob(
  db: Queryable,
  job: ClaimedJob,
  error: { code: string; message: string },
): Promise<boolean> {
  const result = await db.execute(sql`
    UPDATE outbox_jobs
       SET state = 'failed', lease_owner = NULL, lease_expires_at = NULL,
           last_error_code = ${error.code}, last_error = ${error.message}, updated_at = now()
     WHERE ${fence(job)} RETURNING id`);
  return rowsOf(result).length > 0;
}

/**
 * Gives leases back to the queue, due now: `ids` of this owner (shutdown), or every lease of the
 * owner (`ids` omitted: a restarted node reclaiming what its previous life held), or every lease
 * of anyone (`owner` null: an embedded single-process database, where no one else can hold one).
 */
export async function releaseLeases(db: Database, owner: string | null, ids?: string[]): Promise<number> {
  if (ids !== undefined && ids.length === 0) return 0;
  const byOwner = owner === null ? sql`TRUE` : sql`lease_owner = ${owner}`;
  const byId =
    ids === undefined
      ? sql`TRUE`
      : sql`id IN (${sql.join(
          ids.map((id) => sql`${id}::uuid`),
          sql`, `,
        )})`;
  const result = await db.execute(sql`
    UPDATE outbox_jobs
       SET state = 'queued', next_attempt_at = now(), lease_owner = NULL, lease_expires_at = NULL,
           updated_at = now()
     WHERE state = 'leased' AND ${byOwner} AND ${byId} RETURNING id`);
  return rowsOf(result).length;
}

/** Jobs per state with the age of the oldest (metrics). */
export async function countJobs(db: Database): Promise<StateCount[]> {
  const result = await db.execute(sql`
    SELECT state, count(*)::int AS count,
           (extract(epoch FROM now() - min(created_at)) * 1000)::float8 AS oldest_ms
      FROM outbox_jobs GROUP BY state`);
  return rowsOf<{ state: JobState; count: number; oldest_ms: number }>(result).map((r) => ({
    state: r.state,
    count: Number(r.count),
    oldestMs: Math.max(0, Number(r.oldest_ms)),
  }));
}
