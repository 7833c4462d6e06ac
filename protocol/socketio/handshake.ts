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

/** The engine's request parts that never change for a session, computed once per connection. */
export interface RequestSummary {
  headers: Record<string, string>;
  address: string;
  xdomain: boolean;
  secure: boolean;
  url: string;
  query: Record<string, string>;
}

export function summarizeRequest(request: EngineHandshakeRequest): RequestSummary {
  let url = request.url;
  let secure = false;
  try {
    const parsed = new URL(request.url, "http://localhost");
    url = parsed.pathname + parsed.search;
    secure = parsed.protocol === "https:" || parsed.protocol === "wss:";
  } catch {
    // keep the raw url: the engine already accepted it
  }
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return {
    headers,
    address: request.remoteAddress,
    xdomain: headers.origin !== undefined,
    secure,
    url,
    query: Object.fromEntries(request.query),
  };
}

export function buildHandshake(request: RequestSummary, auth: Record<string, unknown>): Handshake {
  const now = new Date();
  return { ...request, time: now.toString(), issued: now.getTime(), auth };
}
