/**
 * The handshake request a session keeps for its whole life. Sessions are many and mostly idle, and
 * most never read their request's headers or query, so only the raw strings are kept: `Headers`
 * and `URLSearchParams` are built on first read and cached.
 */
import type { EngineHandshakeRequest } from "./contract.ts";

export class HandshakeRequest implements EngineHandshakeRequest {
  /**
   * Header lines `name:value` joined by "\n" (neither can hold a line break, nor a name a colon):
   * one string instead of two per header. Replaced by the `Headers` built at the first read (one
   * field for both: sessions are many, and each field is 8 bytes on every one of them).
   */
  private rawHeaders: string | Headers;
  private parsedQuery: URLSearchParams | null = null;

  constructor(
    readonly url: string,
    headers: Headers,
    readonly remoteAddress: string,
  ) {
    const lines: string[] = [];
    headers.forEach((value, name) => {
      lines.push(`${name}:${value}`);
    });
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
