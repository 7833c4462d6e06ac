/**
 * Which Graph API refusals are worth retrying. Meta's WhatsApp Cloud API error reference
 * (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes) marks a few codes as
 * temporary (throttling, service trouble); every other code (invalid parameters, unknown or
 * blocked recipient, template problems, re-engagement window, auth/permission, billing) fails the
 * same way however often it is repeated, so the message fails at once with the provider's reason.
 */

/** Graph API error codes that describe a temporary condition. */
export const RETRYABLE_GRAPH_CODES: ReadonlySet<number> = new Set([
  1, // API Unknown: "possibly a temporary outage"
  2, // API Service: temporary downtime or overload
  4, // API Too Many Calls (app-level rate limit)
  80007, // WhatsApp Business Account rate limit
  130429, // Cloud API message throughput reached
  131000, // Something went wrong (generic, transient)
  131016, // Service unavailable
  131056, // (Business, Consumer) pair rate limit
  131057, // Business account is in maintenance mode
  133004, // Server temporarily unavailable
]);

/** True when an HTTP answer with this status and Graph error code may succeed later. */
export function isRetryableGraphFailure(httpStatus: number, graphCode: number | undefined): boolean {
  if (graphCode !== undefined && RETRYABLE_GRAPH_CODES.has(graphCode)) return true;
  if (httpStatus === 429) return true;
  // A 5xx with no code of its own is the provider (or a proxy in front of it) failing.
  return httpStatus >= 500 && graphCode === undefined;
}

const MAX_RETRY_AFTER_MS = 3600_000;

/** The Retry-After header (delta seconds or an HTTP date) in ms, when present and sane. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}
