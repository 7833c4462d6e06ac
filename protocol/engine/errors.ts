/**
 * Every error code, close reason and websocket close code the engine puts on the wire, with the exact
 * strings engine.io uses, so clients and the Socket.IO layer see what they would see with the
 * reference server.
 */
import type { EngineCloseReason } from "./contract.ts";

/** Engine.IO HTTP error codes (`{"code":N,"message":"..."}` bodies). */
export const EngineErrorCode = {
  UNKNOWN_TRANSPORT: 0,
  UNKNOWN_SID: 1,
  BAD_HANDSHAKE_METHOD: 2,
  BAD_REQUEST: 3,
  FORBIDDEN: 4,
  UNSUPPORTED_PROTOCOL_VERSION: 5,
} as const;
export type EngineErrorCode = (typeof EngineErrorCode)[keyof typeof EngineErrorCode];

export const ENGINE_ERROR_MESSAGES: Readonly<Record<EngineErrorCode, string>> = {
  0: "Transport unknown",
  1: "Session ID unknown",
  2: "Bad handshake method",
  3: "Bad request",
  4: "Forbidden",
  5: "Unsupported protocol version",
};

/** HTTP status of an error code: 403 for Forbidden, 400 for the rest (as engine.io answers). */
export function httpStatusOf(code: EngineErrorCode): number {
  return code === EngineErrorCode.FORBIDDEN ? 403 : 400;
}

/** `context.name` of `connection_error` events, the same names engine.io reports. */
export const ErrorContextName = {
  TRANSPORT_MISMATCH: "TRANSPORT_MISMATCH",
  PROTOCOL_MISMATCH: "PROTOCOL_MISMATCH",
  TRANSPORT_HANDSHAKE_ERROR: "TRANSPORT_HANDSHAKE_ERROR",
  ID_GENERATION_ERROR: "ID_GENERATION_ERROR",
  INVALID_ORIGIN: "INVALID_ORIGIN",
  ALLOW_REQUEST_ERROR: "ALLOW_REQUEST_ERROR",
  UPGRADE_REFUSED: "UPGRADE_REFUSED",
  /** A request of an existing session carries an Origin the CORS rule does not allow (Switchboard's own check). */
  ORIGIN_NOT_ALLOWED: "ORIGIN_NOT_ALLOWED",
} as const;

/** Why a session closed (the `close` event's first argument). */
export const CloseReason = {
  TRANSPORT_CLOSE: "transport close",
  TRANSPORT_ERROR: "transport error",
  PING_TIMEOUT: "ping timeout",
  PARSE_ERROR: "parse error",
  FORCED_CLOSE: "forced close",
  SERVER_SHUTTING_DOWN: "server shutting down",
  FORCED_SERVER_CLOSE: "forced server close",
  SLOW_CLIENT: "slow client",
} as const satisfies Record<string, EngineCloseReason>;

/**
 * The `description` that accompanies a "transport error" close: what exactly went wrong with the
 * transport (engine.io's wording where it has one).
 */
export const TransportError = {
  POLL_OVERLAP: "overlap from client",
  DATA_OVERLAP: "data request overlap from client",
  PAYLOAD_TOO_LARGE: "payload too large",
  INVALID_CONTENT: "invalid content",
  POLL_CLOSED_PREMATURELY: "poll connection closed prematurely",
  DATA_CLOSED_PREMATURELY: "data request connection closed prematurely",
  /** A POST body did not arrive in full within `httpRequestBodyTimeout`. */
  DATA_TIMEOUT: "http request timeout",
  /** A POST body arrived in more than `maxBufferedChunks` pieces. */
  TOO_MANY_CHUNKS: "too many chunks",
  INVALID_HEARTBEAT_DIRECTION: "invalid heartbeat direction",
  WEBSOCKET_ERROR: "websocket error",
} as const;

/** Websocket close codes the engine sends. */
export const WsCloseCode = {
  /** Orderly close (server or client asked for it). */
  NORMAL: 1000,
  /** The server is going away (shutdown). */
  GOING_AWAY: 1001,
  /** No close frame: the connection dropped, or Bun ended it for a protocol failure (with a reason). */
  ABNORMAL: 1006,
  /** Bun's code when a frame exceeds `maxPayloadLength`. */
  MESSAGE_TOO_BIG: 1009,
  /** Bun's code for a text frame that is not UTF-8. */
  INVALID_PAYLOAD: 1007,
  /**
   * The client read too slowly and its outgoing buffer hit the limit (private-use range; centrifuge
   * uses 3008 "slow" for the same disconnect).
   */
  SLOW_CLIENT: 4008,
  /** An upgrade probe that was refused or not completed in time. */
  UPGRADE_FAILED: 4009,
} as const;
