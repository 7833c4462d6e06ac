/**
 * What every generator client (websocket or polling) offers the scenarios. The hot path is raw:
 * scenarios receive `42[...]` packets as text and slice out what they measure.
 */

export type TransportName = "websocket" | "polling";

export interface ClientOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** Engine.IO path. Default `/socket.io/`. */
  path?: string;
  /** Handshake `auth` payload sent with the Socket.IO CONNECT packet. Default none. */
  auth?: Record<string, unknown>;
  /** Give up on a connect (Engine.IO open + Socket.IO CONNECT) after this long. Default 10,000 ms. */
  connectTimeoutMs?: number;
}

export const DEFAULT_PATH = "/socket.io/";
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Why a client gave up, as named strings for reports. */
export const ClientError = {
  ConnectTimeout: "connect timeout",
  ConnectRefused: "connect error",
  ClosedBeforeConnect: "closed before connect",
  AckTimeout: "ack timeout",
  NotConnected: "not connected",
} as const;

export interface LoadClient {
  readonly transport: TransportName;
  /** Milliseconds from the first byte sent to the Socket.IO CONNECT answer. */
  readonly handshakeMs: number;
  readonly connected: boolean;
  /** Called with each raw Socket.IO EVENT packet (`42[...]`). */
  onEvent: ((raw: string) => void) | null;
  /**
   * Hot-path alternative to `onEvent` (websocket only): the EVENT packet as bytes `buf[start, end)`,
   * valid only during the call. When set, `onEvent` is not called.
   */
  onEventBytes?: ((buf: Buffer, start: number, end: number) => void) | null;
  /** Called once when the server or the network ends the session after it was connected. */
  onClose: ((reason: string) => void) | null;
  /** Engine.IO open + Socket.IO CONNECT; resolves when the server answered CONNECT. */
  connect(): Promise<void>;
  /** Send one raw Engine.IO message packet (e.g. `42["pub",...]`). */
  send(packet: string): void;
  /** Send an event with an ack id and call `onAck` with the raw ACK packet. */
  sendWithAck(event: string, args: readonly unknown[], onAck: (raw: string) => void): void;
  /** Hot-path form of `sendWithAck`: `body` is the packet's JSON array, already encoded. */
  sendEncodedWithAck(body: string, onAck: (raw: string) => void): void;
  /** Promise form of `sendWithAck`, bounded by a timeout. */
  emitWithAck(event: string, args: readonly unknown[], timeoutMs?: number): Promise<unknown[]>;
  close(): void;
}
