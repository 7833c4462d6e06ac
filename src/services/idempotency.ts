/**
 * Idempotency keys of `POST …/messages`: the first request with a key creates the message; any
 * other with the same key from the same user within `IDEMPOTENCY_WINDOW_MS` gets that message
 * back and sends nothing. The claim is an INSERT on the (user, key) primary key in the statement
 * that stores the message (src/services/accept-message.ts), never a read-then-write: a concurrent
 * duplicate waits on the first statement's row lock, then sees its committed row (or takes the key
 * over if the first failed).
 */

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
