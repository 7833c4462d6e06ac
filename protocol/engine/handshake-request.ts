/**
 * The handshake request a session keeps for its whole life. Sessions are many and mostly idle, and
 * most never read their request's headers or query, so only the raw strings are kept: `Headers`
 * and `URLSearchParams` are built on first read and cached.
 */
import type { EngineHandshakeRequest } from "./contract.ts";

export class HandshakeRequest implements EngineHandshakeRequest {
  /** Header names and values, flattened: `[name0, value0, name1, value1, …]`. */
  private rawHeaders: string[] | null;
  private parsedHeaders: Headers | null = null;
  private parsedQuery: URLSearchParams | null = null;

  constructor(
    readonly url: string,
    headers: Headers,
    readonly remoteAddress: string,
  ) {
    const raw: string[] = [];
    headers.forEach((value, name) => {
      raw.push(name, value);
    });
    this.rawHeaders = raw;
  }

  get headers(): Headers {
    if (this.parsedHeaders === null) {
      const headers = new Headers();
      const raw = this.rawHeaders ?? [];
      for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
      this.parsedHeaders = headers;
      // The Headers object is the copy from now on.
      this.rawHeaders = null;
    }
    return this.parsedHeaders;
  }

  get query(): URLSearchParams {
    // Parsed as the engine parsed it when it accepted the handshake (the same normalization).
    this.parsedQuery ??= new URLSearchParams(new URL(this.url).search);
    return this.parsedQuery;
  }
}
