/**
 * Idempotency keys of `POST …/messages`: the first request with a key creates the message; any
 * other with the same key from the same user within `IDEMPOTENCY_WINDOW_MS` gets that message
 * back and sends nothing. The claim is an INSERT on the (user, key) primary key in the sending
 * transaction, never a read-then-write: a concurrent duplicate waits on the first transaction's
 * row lock, then sees its committed row (or takes the key over if the first rolled back).
 */
import { sql } from "drizzle-orm";
import type { Tx } from "../../db/client.ts";
import type { Uuid } from "../shared/events.ts";

export const IDEMPOTENCY_WINDOW_MS = 24 * 3600_000;
export const IDEMPOTENCY_KEY_MAX = 128;
/** Printable ASCII without spaces or quotes: UUIDs, ULIDs and "client:123" style keys all fit. */
export const IDEMPOTENCY_KEY_PATTERN = "^[A-Za-z0-9_\\-.:]+$";
const KEY_PATTERN = new RegExp(IDEMPOTENCY_KEY_PATTERN, "u");

export const IDEMPOTENCY_ERROR_CODES = {
  invalid: "invalid_idempotency_key",
  /** The key was used for a message in another conversation: the retry is not of this request. */
  reused: "idempotency_key_reused",
} as const;

/** Null when `key` is acceptable, else what is wrong with it. */
export function idempotencyKeyProblem(key: string): string | null {
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX)
    return `must be 1 to ${IDEMPOTENCY_KEY_MAX} characters`;
  if (!KEY_PATTERN.test(key)) return "may contain only letters, digits and _ - . :";
  return null;
}

function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/**
 * Claims `key` for `messageId` inside the caller's transaction. Returns null when the claim is
 * ours (go on and create the message), or the id of the message an earlier request created.
 * A key older than the window is taken over.
 */
export async function claimIdempotencyKey(
  tx: Tx,
  userId: Uuid,
  key: string,
  messageId: Uuid,
): Promise<Uuid | null> {
  // Storage hygiene: the user's keys past the window are dead; dropping them here keeps the table
  // at one day of keys per user without a sweeper (the primary key's user_id prefix finds them).
  await tx.execute(sql`
    DELETE FROM idempotency_keys
     WHERE user_id = ${userId}::uuid AND key <> ${key}
       AND created_at < now() - ${IDEMPOTENCY_WINDOW_MS} * interval '1 millisecond'`);
  const claimed = await tx.execute(sql`
    INSERT INTO idempotency_keys (user_id, key, message_id, created_at)
    VALUES (${userId}::uuid, ${key}, ${messageId}::uuid, now())
    ON CONFLICT (user_id, key) DO UPDATE
       SET message_id = EXCLUDED.message_id, created_at = EXCLUDED.created_at
     WHERE idempotency_keys.created_at < now() - ${IDEMPOTENCY_WINDOW_MS} * interval '1 millisecond'
    RETURNING message_id`);
  if (rowsOf(claimed).length > 0) return null;
  // ON CONFLICT … DO UPDATE locked the existing row even when its WHERE said no: it is committed.
  const [existing] = rowsOf<{ message_id: string }>(
    await tx.execute(
      sql`SELECT message_id FROM idempotency_keys WHERE user_id = ${userId}::uuid AND key = ${key}`,
    ),
  );
  if (!existing) throw new Error("idempotency key vanished while locked");
  return existing.message_id;
}
