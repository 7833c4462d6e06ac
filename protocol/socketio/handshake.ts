/** The `socket.handshake` object, shaped as socket.io's so application code reads it unchanged. */
import type { EngineHandshakeRequest } from "../engine/contract.ts";

export interface Handshake {
  /** Request headers as a plain object with lower-case names. */
  headers: Record<string, string>;
  /** When the socket connected (`Date#toString`). */
  time: string;
  /** Remote address of the client. */
  address: string;
  /** True when the request carried an Origin header (a cross-site request). */
  xdomain: boolean;
  /** True when the connection is TLS. */
  secure: boolean;
  /** When the socket connected (ms since the epoch). */
  issued: number;
  /** Path and query string of the handshake request. */
  url: string;
  /** Query parameters of the handshake request. */
  query: Record<string, string>;
  /** The auth payload of the CONNECT packet. */
  auth: Record<string, unknown>;
}

/** The engine's request parts that never change for a session, shared by its namespaces. */
export interface RequestSummary {
  readonly headers: Record<string, string>;
  readonly address: string;
  readonly xdomain: boolean;
  readonly secure: boolean;
  readonly url: string;
  readonly query: Record<string, string>;
}

/**
 * A summary computed on first read: most connections never look at their handshake, and the
 * headers and query objects are the biggest part of an idle connection's memory.
 */
class LazyRequestSummary implements RequestSummary {
  private parsedUrl: { url: string; secure: boolean } | undefined;
  private headersObject: Record<string, string> | undefined;
  private queryObject: Record<string, string> | undefined;

  constructor(private readonly request: EngineHandshakeRequest) {}

  get headers(): Record<string, string> {
    if (this.headersObject === undefined) {
      const headers: Record<string, string> = {};
      this.request.headers.forEach((value, name) => {
        headers[name] = value;
      });
      this.headersObject = headers;
    }
    return this.headersObject;
  }

  get address(): string {
    return this.request.remoteAddress;
  }

  get xdomain(): boolean {
    return this.headers.origin !== undefined;
  }

  get secure(): boolean {
    return this.urlParts.secure;
  }

  get url(): string {
    return this.urlParts.url;
  }

  get query(): Record<string, string> {
    this.queryObject ??= Object.fromEntries(this.request.query);
    return this.queryObject;
  }

  private get urlParts(): { url: string; secure: boolean } {
    if (this.parsedUrl === undefined) {
      let url = this.request.url;
      let secure = false;
      try {
        const parsed = new URL(url, "http://localhost");
        url = parsed.pathname + parsed.search;
        secure = parsed.protocol === "https:" || parsed.protocol === "wss:";
      } catch {
        // keep the raw url: the engine already accepted it
      }
      this.parsedUrl = { url, secure };
    }
    return this.parsedUrl;
  }
}

/** True when `value` has no enumerable property (an empty CONNECT payload). */
export function isEmptyObject(value: object): boolean {
  for (const _ in value) return false;
  return true;
}

export function summarizeRequest(request: EngineHandshakeRequest): RequestSummary {
  return new LazyRequestSummary(request);
}

/** The handshake of a socket that connected at `issued` (ms since the epoch). */
export function buildHandshake(
  request: RequestSummary,
  auth: Record<string, unknown>,
  issued: number,
): Handshake {
  // The key order of socket.io's (and of the earlier spread): serialized handshakes stay identical.
  return {
    headers: request.headers,
    address: request.address,
    xdomain: request.xdomain,
    secure: request.secure,
    url: request.url,
    query: request.query,
    time: new Date(issued).toString(),
    issued,
    auth,
  };
}
