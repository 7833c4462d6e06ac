/**
 * Every disconnect reason and error message of the Socket.IO layer, with the exact strings
 * socket.io 4.8 uses (clients and application code compare against them).
 */

/** Why a socket disconnected, as passed to its "disconnecting" and "disconnect" listeners. */
export const DisconnectReasons = {
  /** The connection was closed by the client (or lost) at the transport level. */
  TRANSPORT_CLOSE: "transport close",
  /** The transport failed (network error, bad frame). */
  TRANSPORT_ERROR: "transport error",
  /** The client did not answer a ping within pingTimeout. */
  PING_TIMEOUT: "ping timeout",
  /** The client sent a packet that could not be decoded. */
  PARSE_ERROR: "parse error",
  /** The client left this namespace (`socket.disconnect()` on the client). */
  CLIENT_NAMESPACE_DISCONNECT: "client namespace disconnect",
  /** The server removed the socket from this namespace (`socket.disconnect()` on the server). */
  SERVER_NAMESPACE_DISCONNECT: "server namespace disconnect",
  /** `io.close()` was called. */
  SERVER_SHUTTING_DOWN: "server shutting down",
  /** The engine session was closed by the server (`socket.conn.close()`). */
  FORCED_CLOSE: "forced close",
  /** The Socket.IO client closed the whole connection (`socket.disconnect(true)`, connect timeout). */
  FORCED_SERVER_CLOSE: "forced server close",
  /** The engine dropped a client that could not keep up with its outgoing buffer. */
  SLOW_CLIENT: "slow client",
} as const;

export type DisconnectReason = (typeof DisconnectReasons)[keyof typeof DisconnectReasons];

/**
 * Reasons after which a client may come back and recover its session (socket.io's
 * RECOVERABLE_DISCONNECT_REASONS): everything except a deliberate namespace disconnect or a parse error.
 */
export const RECOVERABLE_DISCONNECT_REASONS: ReadonlySet<string> = new Set<string>([
  DisconnectReasons.TRANSPORT_ERROR,
  DisconnectReasons.TRANSPORT_CLOSE,
  DisconnectReasons.FORCED_CLOSE,
  DisconnectReasons.PING_TIMEOUT,
  DisconnectReasons.SERVER_SHUTTING_DOWN,
  DisconnectReasons.FORCED_SERVER_CLOSE,
  DisconnectReasons.SLOW_CLIENT,
]);

/** Error messages sent to clients or given to callbacks. */
export const ErrorMessages = {
  /** CONNECT_ERROR answer for a namespace the server does not serve. */
  INVALID_NAMESPACE: "Invalid namespace",
  /** Passed to an ack callback registered with `timeout(ms)` when no answer came in time. */
  ACK_TIMEOUT: "operation has timed out",
  /** Thrown by `emit` for an event name reserved by the protocol. */
  RESERVED_EVENT: "is a reserved event name",
} as const;

/**
 * Event names a server may not emit to a client: the client library gives them a meaning of its own
 * (socket.io's RESERVED_EVENTS).
 */
export const RESERVED_EVENTS: ReadonlySet<string> = new Set([
  "connect",
  "connect_error",
  "disconnect",
  "disconnecting",
  "newListener",
  "removeListener",
]);
