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

/**
 * The encoding to use for `Accept-Encoding`: gzip or deflate, by the client's q-values, gzip on a
 * tie (the order engine.io asks `accepts` for).
 */
export function negotiateEncoding(acceptEncoding: string | null): ContentEncoding | null {
  if (!acceptEncoding) return null;
  let best: ContentEncoding | null = null;
  let bestQ = 0;
  let wildcardQ = -1;
  const explicit = new Map<string, number>();
  for (const part of acceptEncoding.split(",")) {
    const [rawName, ...params] = part.trim().split(";");
    const name = rawName?.trim().toLowerCase();
    if (!name) continue;
    let q = 1;
    for (const p of params) {
      const [k, v] = p.trim().split("=");
      if (k?.trim() === "q" && v !== undefined) q = Number.parseFloat(v) || 0;
    }
    if (name === "*") wildcardQ = q;
    else explicit.set(name, q);
  }
  for (const candidate of ["gzip", "deflate"] as const) {
    const q = explicit.get(candidate) ?? Math.max(wildcardQ, 0);
    if (q > bestQ) {
      best = candidate;
      bestQ = q;
    }
  }
  return best;
}

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
    const encoding = negotiateEncoding(req.headers.get("accept-encoding"));
    if (encoding) {
      headers.set("Content-Encoding", encoding);
      return new Response(compress(body, encoding), { status: 200, headers });
    }
  }
  return new Response(body, { status: 200, headers });
}
