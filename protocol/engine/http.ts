/**
 * HTTP answers of the engine: error bodies, polling payloads (with optional gzip/deflate) and the
 * POST acknowledgement, with the headers engine.io sends.
 */
import { deflateSync } from "node:zlib";
import { ENGINE_ERROR_MESSAGES, type EngineErrorCode, httpStatusOf } from "./errors.ts";

/**
 * Headers the engine adds to an answer: CORS, and what `headers` / `initial_headers` listeners set
 * (a list is one header line per value, as `Set-Cookie` needs).
 */
export type ExtraHeaders = Record<string, string | readonly string[]> | null;

/** `extra` as a Headers object. */
export function headersFrom(extra: ExtraHeaders): Headers {
  const headers = new Headers();
  if (extra === null) return headers;
  for (const [name, value] of Object.entries(extra)) {
    if (typeof value === "string") headers.set(name, value);
    else for (const v of value) headers.append(name, v);
  }
  return headers;
}

const CONTENT_TYPE_TEXT = "text/plain; charset=UTF-8";
/** text/html, not text/plain: some user agents offer a download dialog for text/plain (engine.io GH-43). */
const CONTENT_TYPE_ACK = "text/html";
const CONTENT_TYPE_JSON = "application/json";

function baseHeaders(req: Request, extra: ExtraHeaders): Headers {
  const headers = headersFrom(extra);
  const ua = req.headers.get("user-agent");
  // Old IE blocks the polling response as XSS without this (socket.io#1333).
  if (ua && (ua.includes(";MSIE") || ua.includes("Trident/"))) headers.set("X-XSS-Protection", "0");
  headers.set("cache-control", "no-store");
  return headers;
}

/**
 * `{"code":N,"message":"..."}` with 403 for Forbidden, 400 otherwise. `closeConnection` as for
 * `statusResponse`: a refused request whose body was never read must not keep its connection.
 */
export function errorResponse(
  code: EngineErrorCode,
  extra: ExtraHeaders,
  message?: string,
  closeConnection = false,
): Response {
  const headers = headersFrom(extra);
  headers.set("Content-Type", CONTENT_TYPE_JSON);
  if (closeConnection) headers.set("Connection", "close");
  const body = JSON.stringify({ code, message: message ?? ENGINE_ERROR_MESSAGES[code] });
  return new Response(body, { status: httpStatusOf(code), headers });
}

/**
 * An empty answer with a bare status (engine.io's overlap and payload errors have no body).
 * `closeConnection` is for answers given before the request body was read in full: without
 * `Connection: close` Bun keeps the connection and goes on reading the rest of the body, for as long
 * as the client trickles it in.
 */
export function statusResponse(status: number, extra: ExtraHeaders, closeConnection = false): Response {
  const headers = headersFrom(extra);
  if (closeConnection) headers.set("Connection", "close");
  return new Response(null, { status, headers });
}

/** The answer to a polling POST. */
export function ackResponse(req: Request, extra: ExtraHeaders): Response {
  const headers = baseHeaders(req, extra);
  headers.set("Content-Type", CONTENT_TYPE_ACK);
  return new Response("ok", { status: 200, headers });
}

export type ContentEncoding = "gzip" | "deflate";

/** One `Accept-Encoding` entry: its name, q-value (NaN when unreadable) and position in the header. */
interface AcceptedEncoding {
  name: string;
  q: number;
  order: number;
}

/** How well one entry speaks for an encoding: `exact` 1 for its own name, 0 for `*`. */
interface EncodingPriority {
  q: number;
  exact: number;
  order: number;
}

function parseAcceptEncoding(header: string): AcceptedEncoding[] {
  const accepted: AcceptedEncoding[] = [];
  for (const part of header.split(",")) {
    const [rawName, ...params] = part.split(";");
    const name = rawName?.trim();
    if (!name || /\s/.test(name)) continue;
    let q = 1;
    for (const param of params) {
      const [key, value] = param.trim().split("=");
      if (key === "q") q = Number.parseFloat(value ?? "");
    }
    accepted.push({ name, q, order: accepted.length });
  }
  return accepted;
}

/**
 * The encoding of `offered` that `accepts(req).encodings(offered)` picks (negotiator 0.6.3, which
 * socket.io 4.8 and engine.io 6.6 use), quirks included: each encoding takes the entry that names it
 * over `*`, then the higher q, then the later one; the highest q wins, then a named entry over `*`,
 * then the client's order, then the order offered. An unreadable q (NaN) never wins. null when none
 * is acceptable.
 */
export function negotiateEncoding<E extends string>(
  acceptEncoding: string | null,
  offered: readonly E[],
): E | null {
  if (!acceptEncoding) return null;
  const accepted = parseAcceptEncoding(acceptEncoding);
  let best: (EncodingPriority & { encoding: E }) | null = null;
  for (const encoding of offered) {
    let priority: EncodingPriority = { q: 0, exact: 0, order: -1 };
    for (const entry of accepted) {
      const exact = entry.name.toLowerCase() === encoding ? 1 : entry.name === "*" ? 0 : -1;
      if (exact < 0) continue;
      // negotiator's `(p.s - s.s || p.q - s.q || p.o - s.o) < 0`, NaN q-values falling through.
      if ((priority.exact - exact || priority.q - entry.q || priority.order - entry.order) < 0) {
        priority = { q: entry.q, exact, order: entry.order };
      }
    }
    if (!(priority.q > 0)) continue;
    const better =
      best === null ||
      (best.q - priority.q || best.exact - priority.exact || priority.order - best.order) < 0;
    if (better) best = { encoding, ...priority };
  }
  return best?.encoding ?? null;
}

/** The polling response encoding engine.io picks (`accepts(req).encodings(["gzip", "deflate"])`). */
const POLLING_ENCODINGS: readonly ContentEncoding[] = ["gzip", "deflate"];

const encoder = new TextEncoder();

function compress(body: string, encoding: ContentEncoding): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(body);
  // HTTP "deflate" is the zlib format; Bun.deflateSync writes raw deflate, hence node:zlib here.
  return encoding === "gzip" ? Bun.gzipSync(bytes) : new Uint8Array(deflateSync(bytes));
}

export interface PollResponseOptions {
  /** Compress when the client accepts it and the body reaches the threshold. */
  compress: boolean;
  /** Smallest body that is compressed, or false when HTTP compression is off. */
  threshold: number | false;
}

/** A polling GET answer carrying an encoded payload. */
export function pollResponse(
  req: Request,
  body: string,
  extra: ExtraHeaders,
  opts: PollResponseOptions,
): Response {
  const headers = baseHeaders(req, extra);
  headers.set("Content-Type", CONTENT_TYPE_TEXT);
  if (opts.compress && opts.threshold !== false && Buffer.byteLength(body) >= opts.threshold) {
    const encoding = negotiateEncoding(req.headers.get("accept-encoding"), POLLING_ENCODINGS);
    if (encoding) {
      headers.set("Content-Encoding", encoding);
      return new Response(compress(body, encoding), { status: 200, headers });
    }
  }
  return new Response(body, { status: 200, headers });
}
