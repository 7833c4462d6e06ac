/**
 * Polling without sticky sessions: the engine's `resolveForeignSession` hook. A polling request
 * for a session this node does not hold is sent over an internal HTTP hop to the owner (named by
 * the session id, located through the registry), authenticated by a shared secret header, and the
 * owner's answer is returned as is. When the owner is gone the hook answers null and the engine
 * says "Session ID unknown", which makes the client open a new session wherever it lands.
 *
 * A websocket upgrade for a foreign session is not forwarded: the engine refuses it, and the
 * client keeps polling (through this forwarder). Websocket-only clients never carry a sid, so any
 * node accepts them.
 */
import { createLogger } from "../../protocol/logger.ts";
import { ownerOfSession } from "./node-id.ts";
import type { NodeRegistry } from "./registry.ts";

const log = createLogger("cluster");

/** Header carrying the shared secret on the internal hop. */
export const FORWARD_SECRET_HEADER = "x-switchboard-cluster-secret";
/** Header naming the node that forwarded (for logs, and to refuse a second hop). */
export const FORWARDED_BY_HEADER = "x-switchboard-forwarded-by";

/**
 * The Host the client asked for, kept for the owner when the hop replaces Host with the owner's
 * internal address: the owner's same-origin rule compares a page's Origin with it. A proxy in
 * front may have set it already; that value wins.
 */
export const FORWARDED_HOST_HEADER = "x-forwarded-host";

export function originalHost(req: Request): string {
  return req.headers.get(FORWARDED_HOST_HEADER) ?? req.headers.get("host") ?? new URL(req.url).host;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) and those the hop itself recomputes. */
const NOT_FORWARDED_REQUEST = [
  "host",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "accept-encoding",
  "te",
];
const NOT_FORWARDED_RESPONSE = [
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "content-encoding",
];

export interface ForwarderOptions {
  nodeId: string;
  secret: string;
  registry: NodeRegistry;
  /**
   * Longest a forwarded request may take, in ms. A long-poll GET is held by the owner up to its
   * ping interval, so this must exceed it. Default 60000.
   */
  timeoutMs?: number;
}

export const FORWARDER_DEFAULTS = { timeoutMs: 60_000 } as const;

export interface ForwarderCounters {
  /** Requests answered by their owner through the internal hop. */
  forwarded: number;
  /** Requests whose owner could not be reached (answered "Session ID unknown"). */
  forwardFailed: number;
}

export interface Forwarder {
  readonly counters: ForwarderCounters;
  /** Pass as the engine's `resolveForeignSession`. */
  resolveForeignSession(req: Request, sid: string): Promise<Response | null>;
}

export function createForwarder(options: ForwarderOptions): Forwarder {
  const counters: ForwarderCounters = { forwarded: 0, forwardFailed: 0 };
  const timeoutMs = options.timeoutMs ?? FORWARDER_DEFAULTS.timeoutMs;

  async function resolveForeignSession(req: Request, sid: string): Promise<Response | null> {
    // Websocket upgrades are the relay's (ws-relay.ts), never forwarded as HTTP.
    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") return null;
    const found = await locateForeignOwner(req, sid, options.nodeId, options.registry);
    if (!found) return null;
    const { owner, target } = found;
    const headers = new Headers(req.headers);
    for (const name of NOT_FORWARDED_REQUEST) headers.delete(name);
    // The hop is on the private network: no compression, the owner's answer is passed through.
    headers.set("accept-encoding", "identity");
    headers.set(FORWARDED_HOST_HEADER, originalHost(req));
    headers.set(FORWARD_SECRET_HEADER, options.secret);
    headers.set(FORWARDED_BY_HEADER, options.nodeId);
    try {
      const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer();
      const upstream = await fetch(target, {
        method: req.method,
        headers,
        body,
        redirect: "manual",
        decompress: false,
        signal: AbortSignal.any([req.signal, AbortSignal.timeout(timeoutMs)]),
      } as RequestInit);
      const responseHeaders = new Headers(upstream.headers);
      for (const name of NOT_FORWARDED_RESPONSE) responseHeaders.delete(name);
      const payload = await upstream.arrayBuffer();
      counters.forwarded++;
      return new Response(payload, {
        status: upstream.status,
        statusText: upstream.statusText,
        headers: responseHeaders,
      });
    } catch (err) {
      counters.forwardFailed++;
      options.registry.forget(owner);
      if (!req.signal.aborted)
        log.warn("could not forward a polling request to its node", { owner, target, err });
      return null;
    }
  }

  return { counters, resolveForeignSession };
}

export interface ForeignOwner {
  /** The owning node's id. */
  owner: string;
  /** The owner's internal URL for this request: its advertised address, the request's path and query. */
  target: string;
}

/**
 * The owner of `sid` and where to reach it, or null when the request must not leave this node: an
 * id that names no node or this one, a second hop (a forwarded request the owner does not know is
 * simply unknown), an owner the registry does not know. Shared by polling forwarding and the
 * websocket relay, so both refuse the same cases.
 */
export async function locateForeignOwner(
  req: Request,
  sid: string,
  nodeId: string,
  registry: Pick<NodeRegistry, "lookup">,
): Promise<ForeignOwner | null> {
  const owner = ownerOfSession(sid);
  if (!owner || owner === nodeId) return null;
  if (req.headers.has(FORWARDED_BY_HEADER)) return null;
  const address = await registry.lookup(owner);
  if (!address) return null;
  const incoming = new URL(req.url);
  return { owner, target: `${address}${incoming.pathname}${incoming.search}` };
}

/** Constant-time comparison of the secret header (no early exit that would leak a prefix). */
export function hasClusterSecret(req: Request, secret: string): boolean {
  const given = req.headers.get(FORWARD_SECRET_HEADER);
  if (given === null || given.length !== secret.length) return false;
  let diff = 0;
  for (let i = 0; i < secret.length; i++) diff |= given.charCodeAt(i) ^ secret.charCodeAt(i);
  return diff === 0;
}
