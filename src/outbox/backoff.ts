/**
 * When to try a failed job again: exponential backoff from `baseMs`, capped at `maxMs`, with
 * "equal jitter" (between half and all of the step) so jobs that failed together do not come back
 * together, and never sooner than the provider's Retry-After.
 */
export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
}

/** The delay before attempt `attempt + 1`, after `attempt` (1-based) failed. */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40));
  const jittered = Math.round(step / 2 + (random() * step) / 2);
  return Math.max(jittered, retryAfterMs ?? 0);
}
