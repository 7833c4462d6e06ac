/**
 * Websocket upgrades without sticky sessions: the engine's `relayForeignUpgrade` hook. A polling
 * session's upgrade request that lands on a node that does not own the session is accepted here
 * and relayed, frame by frame, to the owner over a websocket on the internal hop (same secret
 * header as polling forwarding); the owner sees an ordinary upgrade probe. Without it the client
 * would stay on (forwarded) polling for the life of the session.
 *
 * Each relayed connection costs this node one accepted socket and one client socket. Frames the
 * client sends before the owner answers are held (bounded); a client that does not read what the
 * owner sends is cut off at the same limit as the engine's slow clients. Either side closing
 * closes the other.
 */
import type { ForeignWebSocket, RelayedWebSocket } from "../../protocol/engine/contract.ts";
import { CloseReason, WsCloseCode } from "../../protocol/engine/index.ts";
import { createLogger } from "../../protocol/logger.ts";
import {
  FORWARD_SECRET_HEADER,
  FORWARDED_BY_HEADER,
  FORWARDED_HOST_HEADER,
  locateForeignOwner,
  originalHost,
} from "./forwarder.ts";
import type { NodeRegistry } from "./registry.ts";

const log = createLogger("cluster");

/** Request headers the relay passes to the owner (its own upgrade handshake sets the rest). */
const RELAYED_HEADERS = ["origin", "user-agent", "cookie", "authorization", "x-forwarded-for", "x-real-ip"];

export interface WebSocketRelayOptions {
  nodeId: string;
  secret: string;
  registry: Pick<NodeRegistry, "lookup" | "forget">;
  /** Bytes held for one side (client frames before the owner answered, or unread by the client). */
  maxBufferedBytes: number;
}

export interface WebSocketRelayCounters {
  /** Upgrades relayed to their owner. */
  relayed: number;
  /** Relays that could not reach the owner. */
  relayFailed: number;
  /** Relayed connections open now. */
  open: number;
}

export interface WebSocketRelay {
  readonly counters: WebSocketRelayCounters;
  /** Pass as the engine's `relayForeignUpgrade`. */
  relayForeignUpgrade(req: Request, sid: string): Promise<ForeignWebSocket | null>;
}

/** A close code a server may send: 1000-1003, 1007-1011, 3000-4999 (others become 1000). */
function sendableCode(code: number): number {
  if ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999))
    return code;
  return WsCloseCode.NORMAL;
}

export function createWebSocketRelay(options: WebSocketRelayOptions): WebSocketRelay {
  const counters: WebSocketRelayCounters = { relayed: 0, relayFailed: 0, open: 0 };

  async function relayForeignUpgrade(req: Request, sid: string): Promise<ForeignWebSocket | null> {
    const found = await locateForeignOwner(req, sid, options.nodeId, options.registry);
    if (!found) return null;
    const { owner } = found;
    const target = found.target.replace(/^http/, "ws");
    const headers: Record<string, string> = {
      [FORWARD_SECRET_HEADER]: options.secret,
      [FORWARDED_BY_HEADER]: options.nodeId,
      [FORWARDED_HOST_HEADER]: originalHost(req),
    };
    for (const name of RELAYED_HEADERS) {
      const value = req.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    return new RelayedConnection(target, headers, options, counters, () => options.registry.forget(owner));
  }

  return { counters, relayForeignUpgrade };
}

/** One client websocket and its upstream to the owner. */
class RelayedConnection implements ForeignWebSocket {
  #client: RelayedWebSocket | null = null;
  #upstream: WebSocket | null = null;
  /** Client frames waiting for the upstream to open. */
  #held: (string | Uint8Array)[] = [];
  #heldBytes = 0;
  #opened = false;
  #ended = false;

  constructor(
    private readonly target: string,
    private readonly headers: Record<string, string>,
    private readonly options: WebSocketRelayOptions,
    private readonly counters: WebSocketRelayCounters,
    private readonly ownerUnreachable: () => void,
  ) {}

  open(client: RelayedWebSocket): void {
    this.#client = client;
    this.counters.open++;
    let upstream: WebSocket;
    try {
      // Bun's WebSocket client takes request headers (the secret) as an option.
      upstream = new WebSocket(this.target, { headers: this.headers } as unknown as string[]);
    } catch (err) {
      // A malformed advertised address: refuse like an unreachable owner, never throw into Bun.
      this.counters.relayFailed++;
      log.warn("could not open a relay to a session's node", { target: this.target, err });
      this.#end(WsCloseCode.UPGRADE_FAILED, "session owner unreachable", null);
      return;
    }
    upstream.binaryType = "arraybuffer";
    this.#upstream = upstream;
    upstream.onopen = () => {
      this.#opened = true;
      this.counters.relayed++;
      for (const frame of this.#held) upstream.send(frame);
      this.#held = [];
      this.#heldBytes = 0;
    };
    upstream.onmessage = (event: MessageEvent) => {
      const client = this.#client;
      if (client === null) return;
      client.send(typeof event.data === "string" ? event.data : new Uint8Array(event.data as ArrayBuffer));
      if (client.getBufferedAmount() > this.options.maxBufferedBytes)
        this.#end(WsCloseCode.SLOW_CLIENT, CloseReason.SLOW_CLIENT, WsCloseCode.NORMAL);
    };
    upstream.onclose = (event: CloseEvent) => {
      if (!this.#opened && !this.#ended) {
        this.counters.relayFailed++;
        this.ownerUnreachable();
        log.warn("could not relay a websocket upgrade to its node", { target: this.target });
        // The client's probe fails as any refused upgrade does; it keeps polling (or reconnects).
        this.#end(WsCloseCode.UPGRADE_FAILED, "session owner unreachable", null);
        return;
      }
      this.#end(sendableCode(event.code), event.reason, null);
    };
  }

  message(_client: RelayedWebSocket, message: string | Uint8Array): void {
    const upstream = this.#upstream;
    if (upstream === null || this.#ended) return;
    if (this.#opened) {
      upstream.send(message);
      return;
    }
    this.#heldBytes += typeof message === "string" ? message.length : message.byteLength;
    if (this.#heldBytes > this.options.maxBufferedBytes) {
      this.#end(WsCloseCode.SLOW_CLIENT, "too much sent before the relay opened", WsCloseCode.NORMAL);
      return;
    }
    this.#held.push(message);
  }

  close(_client: RelayedWebSocket, code: number, reason: string): void {
    this.#client = null;
    this.#end(null, "", sendableCode(code), reason);
  }

  drain(): void {}

  /** Ends both sides once: closes the client with `clientCode` and the upstream with `upstreamCode` (null: already closed). */
  #end(
    clientCode: number | null,
    clientReason: string,
    upstreamCode: number | null,
    upstreamReason = "",
  ): void {
    if (this.#ended) return;
    this.#ended = true;
    this.counters.open--;
    this.#held = [];
    this.#heldBytes = 0;
    const client = this.#client;
    this.#client = null;
    if (client !== null && clientCode !== null) client.close(clientCode, clientReason);
    const upstream = this.#upstream;
    this.#upstream = null;
    if (upstream !== null && upstreamCode !== null && upstream.readyState < WebSocket.CLOSING)
      upstream.close(upstreamCode, upstreamReason);
  }
}
