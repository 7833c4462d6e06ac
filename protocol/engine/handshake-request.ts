/**
 * The handshake request a session keeps for its whole life. Sessions are many and mostly idle, and
 * most never read their request's headers or query, so only the raw strings are kept: `Headers`
 * and `URLSearchParams` are built on first read and cached.
 */
import type { EngineHandshakeRequest } from "./contract.ts";

/**
 * One copy of each handshake URL and remote address seen, shared by every session that has the
 * same one: clients of one application send the same handshake URL, and every client behind a
 * proxy or a NAT comes from the same address, yet each request hands over a fresh string (about
 * 90 and 30 bytes). Strings are immutable, so sharing one is invisible to readers. Bounded, since
 * URLs with per-client query parameters and addresses can be many: past the bound, a string that
 * is not already here is kept as it came, and so is a long one (the map holds at most
 * 4,096 × 256 characters).
 */
const shared = new Map<string, string>();
const MAX_SHARED_STRINGS = 4096;
const MAX_SHARED_LENGTH = 256;

/** @internal The shared copy of `value` (exported for tests). */
export function sharedCopy(value: string): string {
  const known = shared.get(value);
  if (known !== undefined) return known;
  if (shared.size < MAX_SHARED_STRINGS && value.length <= MAX_SHARED_LENGTH) shared.set(value, value);
  return value;
}

function appendLine(this: string[], value: string, name: string): void {
  this.push(`${name}:${value}`);
}

/** @internal How many strings are shared now (for tests). */
export function sharedStringCount(): number {
  return shared.size;
}

export class HandshakeRequest implements EngineHandshakeRequest {
  /**
   * Header lines `name:value` joined by "\n" (neither can hold a line break, nor a name a colon):
   * one string instead of two per header. Replaced by the `Headers` built at the first read (one
   * field for both: sessions are many, and each field is 8 bytes on every one of them).
   */
  private rawHeaders: string | Headers;
  private parsedQuery: URLSearchParams | null = null;
  readonly url: string;
  readonly remoteAddress: string;

  constructor(url: string, headers: Headers, remoteAddress: string) {
    this.url = sharedCopy(url);
    this.remoteAddress = sharedCopy(remoteAddress);
    const lines: string[] = [];
    // The list as `this` rather than captured: no closure and scope per handshake.
    headers.forEach(appendLine, lines);
    this.rawHeaders = lines.join("\n");
  }

  get headers(): Headers {
    const raw = this.rawHeaders;
    if (typeof raw !== "string") return raw;
    const headers = new Headers();
    if (raw) {
      for (const line of raw.split("\n")) {
        const colon = line.indexOf(":");
        headers.append(line.slice(0, colon), line.slice(colon + 1));
      }
    }
    // The Headers object is the copy from now on.
    this.rawHeaders = headers;
    return headers;
  }

  get query(): URLSearchParams {
    // Parsed as the engine parsed it when it accepted the handshake (the same normalization).
    this.parsedQuery ??= new URLSearchParams(new URL(this.url).search);
    return this.parsedQuery;
  }
}
