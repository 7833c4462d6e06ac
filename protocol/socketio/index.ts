/** The Socket.IO v5 layer. */
export { BroadcastOperator } from "./broadcast-operator.ts";
export { Client } from "./client.ts";
export type { Handshake } from "./handshake.ts";
export type { Middleware, MiddlewareError, Next } from "./middleware.ts";
export { Namespace, type NamespaceReservedEvents } from "./namespace.ts";
export {
  type AdapterConstructor,
  type ConnectionStateRecoveryOptions,
  RECOVERY_DEFAULTS,
  SOCKETIO_DEFAULTS,
  type SocketIoOptions,
} from "./options.ts";
export { type Packet, PacketType, type Parser, type ParserDecoder } from "./packet-codec.ts";
export { type NamespaceMatcher, ParentNamespace } from "./parent-namespace.ts";
export {
  type DisconnectReason,
  DisconnectReasons,
  ErrorMessages,
  RECOVERABLE_DISCONNECT_REASONS,
  RESERVED_EVENTS,
} from "./reasons.ts";
export { RemoteSocket, type SocketDetails } from "./remote-socket.ts";
export { Server, type ServerOptions } from "./server.ts";
export { type Event, Socket, type SocketReservedEvents } from "./socket.ts";
export type * from "./typed-events.ts";
