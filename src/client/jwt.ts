/**
 * Reads the expiry of an access token without verifying it: the client only needs to know when to
 * refresh, and the server verifies every token it receives anyway.
 */

/** Seconds since epoch of the token's `exp` claim, or null when the token carries none or is not a JWT. */
export function tokenExpiry(token: string): number | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const json = atob(
      payload
        .replace(/-/g, "+")
        .replace(/_/g, "/")
        .padEnd(Math.ceil(payload.length / 4) * 4, "="),
    );
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === "number" && Number.isFinite(exp) ? exp : null;
  } catch {
    return null;
  }
}
