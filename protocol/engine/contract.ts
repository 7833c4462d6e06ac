/**
 * The contract between the Engine.IO layer (protocol/engine) and what runs on top of it
 * (protocol/socketio, or any engine.io-style user). The Socket.IO layer depends only on these
 * types, never on the engine's internals, so either side can change behind them.
 */

/** Payload of one Engine.IO "message" packet: text, or binary (never both). */
export type RawData = string | Uint8Array;

export type EngineTransportName = "polling" | "websocket";

/** Life cycle of an Engine.IO session. */
export type EngineSocketState = "opening" | "open" | "closing" | "closed";

/** Options for one outgoing message. */
export interface SendOptions {
  /** Compress this packet (websocket permessage-deflate or polling HTTP compression). Default true. */
  compress?: boolean;
}

/**
 * Why a session closed: the exact strings engine.io uses, which socket.io turns into its disconnect
 * reasons ("transport close", "ping timeout", ...).
 */
export type EngineCloseReason =
  | "transport close"
  | "transport error"
  | "ping timeout"
  | "parse error"
  | "forced close"
  | "server shutting down"
  | "forced server close"
  | "slow client";

/** What the engine knows of the HTTP request that opened the session. */
export interface EngineHandshakeRequest {
  readonly url: string;
  readonly headers: Headers;
  /** Query parameters of the handshake request. */
  readonly query: URLSearchParams;
  readonly remoteAddress: string;
}

/** Engine.IO packet type names, as engine.io's packet objects carry them. */
export type EnginePacketType = "open" | "close" | "ping" | "pong" | "message" | "upgrade" | "noop" | "error";

/**
 * One packet as engine.io's `packet` / `packetCreate` events show it. Built only when someone
 * listens: the hot path never allocates these.
 */
export interface EnginePacket {
  type: EnginePacketType;
  /** Absent for packets without a payload (ping, pong, noop). */
  data?: RawData;
  /** Outgoing packets only. */
  options?: { compress: boolean };
}

/** The transport a session runs on (engine.io's `socket.transport`), as far as users may see it. */
export interface EngineTransport {
  readonly name: EngineTransportName;
}

/** A session's events, as engine.io's `Socket` emits them. */
export interface EngineSocketEvents {
  /** A message packet's payload arrived. */
  message: (data: RawData) => void;
  /** Alias of `message` (engine.io emits both). */
  data: (data: RawData) => void;
  /** Any packet arrived from the client (before it is handled). */
  packet: (packet: EnginePacket) => void;
  /** A packet is about to be sent (also each packet of a broadcast this session receives). */
  packetCreate: (packet: EnginePacket) => void;
  /** The client answered a ping. */
  heartbeat: () => void;
  close: (reason: EngineCloseReason, description?: unknown) => void;
  /** A websocket answered the upgrade probe (`2probe`): the switch is under way. */
  upgrading: (transport: EngineTransport) => void;
  /** The transport switched from polling to websocket (after the `5` upgrade packet). */
  upgrade: (transport: EngineTransport) => void;
  /** The outgoing buffer was flushed to the transport. */
  drain: () => void;
  error: (err: Error) => void;
}

/** One Engine.IO session as seen from above. */
export interface EngineSocket {
  readonly id: string;
  readonly state: EngineSocketState;
  readonly transportName: EngineTransportName;
  /** The current transport (engine.io's `socket.conn.transport`): `transport.name` is `transportName`. */
  readonly transport: EngineTransport;
  readonly request: EngineHandshakeRequest;
  /** engine.io's `readyState`: the same value as `state`. */
  readonly readyState: EngineSocketState;
  /** The Engine.IO protocol revision the client speaks (always 4). */
  readonly protocol: 4;
  /** The client's address, as engine.io's `remoteAddress`. */
  readonly remoteAddress: string;
  /** A websocket probe is under way (from its connection until the upgrade completes or fails). */
  readonly upgrading: boolean;
  /** The session started on polling and now runs on the websocket it upgraded to. */
  readonly upgraded: boolean;
  /** True when a send now would be written at once (used by `volatile`). */
  readonly writable: boolean;

  /** Queue one message packet. Never throws: a closed session drops it. */
  send(data: RawData, options?: SendOptions): void;
  /**
   * Queue several message packets that belong together (a Socket.IO binary packet and its
   * attachments) so that they are never interleaved with other sends.
   */
  sendMany(data: readonly RawData[], options?: SendOptions): void;
  /** Close the session (sends the close packet where the transport allows it). */
  close(reason?: EngineCloseReason): void;

  /**
   * Native pub/sub membership. The engine remembers the topics of each session: a websocket session
   * is subscribed natively (Bun `ws.subscribe`), a polling session is tracked by the engine, and an
   * upgrade moves the subscriptions to the websocket without losing or reordering packets.
   */
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;

  on<E extends keyof EngineSocketEvents>(event: E, listener: EngineSocketEvents[E]): this;
  once<E extends keyof EngineSocketEvents>(event: E, listener: EngineSocketEvents[E]): this;
  off<E extends keyof EngineSocketEvents>(event: E, listener: EngineSocketEvents[E]): this;

  /**
   * The one layer above that takes this session's messages and its close, called before the
   * `message` and `close` listeners. A method table instead of two listener closures: the layer
   * above (Socket.IO's Client) exists once per session, so this saves two functions and a listener
   * table per connection. null detaches it.
   */
  setReceiver(receiver: EngineReceiver | null): void;
}

/**
 * A websocket the engine accepted for a session it does not hold, on behalf of a relay (see the
 * `relayForeignUpgrade` option): the engine passes the socket's events on and does nothing else.
 */
export interface ForeignWebSocket {
  open(ws: RelayedWebSocket): void;
  message(ws: RelayedWebSocket, message: string | Uint8Array): void;
  close(ws: RelayedWebSocket, code: number, reason: string): void;
  /** The socket's send buffer emptied. */
  drain(ws: RelayedWebSocket): void;
}

/** What a relay may do with the accepted socket (Bun's ServerWebSocket has these). */
export interface RelayedWebSocket {
  /** Sends a frame; as Bun's `send`: bytes written, -1 when buffered (backpressure), 0 when dropped. */
  send(data: string | Uint8Array): number;
  close(code?: number, reason?: string): void;
  getBufferedAmount(): number;
}

/** See `EngineSocket.setReceiver`. */
export interface EngineReceiver {
  onEngineMessage(data: RawData): void;
  onEngineClose(reason: EngineCloseReason, description?: unknown): void;
}

/** Options for `EnginePublisher.publish`. */
export interface PublishOptions extends SendOptions {
  /** A session that must not receive this publish (the sender of `socket.to(room).emit`). */
  except?: EngineSocket;
}

/**
 * Encode-once fan-out: the same frames go to every session subscribed to `topic`. Websocket
 * sessions receive them through Bun's native `server.publish` / `ws.publish`; polling sessions are
 * queued one by one by the engine.
 */
export interface EnginePublisher {
  publish(topic: string, data: RawData | readonly RawData[], options?: PublishOptions): void;
  /** How many sessions are subscribed to `topic` (both transports). */
  subscriberCount(topic: string): number;
}
