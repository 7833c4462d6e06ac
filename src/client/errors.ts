/**
 * Errors the client module raises, with stable codes so callers (the web UI, tests, Node bots)
 * branch on a value instead of a message text.
 */
import type { ApiError } from "../shared/api.ts";
import { ERROR_CODES, type ErrorCode } from "../shared/events.ts";

/** Codes of failures that happen on the client side (no server `ErrorCode` behind them). */
export const CLIENT_ERROR_CODES = {
  /** The server did not answer an acknowledged event in time. */
  ackTimeout: "ack_timeout",
  /** The socket is not connected, so the event could not be sent. */
  notConnected: "not_connected",
  /** The HTTP request failed before an answer arrived (network down, CORS, DNS). */
  network: "network_error",
  /** The server answered with a body that is not the documented JSON. */
  badResponse: "bad_response",
  /** No refresh token is left, or the server refused it: the user must log in again. */
  sessionExpired: "session_expired",
} as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[keyof typeof CLIENT_ERROR_CODES];

/**
 * Handshake refusals (CONNECT_ERROR `data.code`) that no retry fixes: the token is missing, forged,
 * of the wrong kind or expired, or its user is gone; the user must log in again. (`token_expired` is
 * first answered with a refresh when a TokenManager can do one.) Every other refusal —
 * `internal_error` ("retry later"), or an unknown or missing code — is transient and retried.
 */
const FINAL_HANDSHAKE_REFUSALS: ReadonlySet<string> = new Set<ErrorCode>([
  ERROR_CODES.missingToken,
  ERROR_CODES.invalidToken,
  ERROR_CODES.invalidSignature,
  ERROR_CODES.unsupportedAlgorithm,
  ERROR_CODES.wrongTokenType,
  ERROR_CODES.tokenExpired,
  ERROR_CODES.unknownUser,
  ERROR_CODES.accountDisabled,
  ERROR_CODES.sessionRevoked,
]);

/**
 * Join refusals that stand however often the join is repeated: the conversation is gone or not the
 * user's to watch, the socket's conversation cap is reached, or the id is malformed. Every other
 * failure — `rate_limited`, `internal_error`, an unanswered join — is transient and retried.
 */
const FINAL_JOIN_REFUSALS: ReadonlySet<string> = new Set<ErrorCode>([
  ERROR_CODES.conversationNotFound,
  ERROR_CODES.forbidden,
  ERROR_CODES.tooManyConversations,
  ERROR_CODES.invalidPayload,
]);

/** True when a handshake refused with this code must not be retried (log in again). */
export function isFinalHandshakeRefusal(code: string | undefined): boolean {
  return code !== undefined && FINAL_HANDSHAKE_REFUSALS.has(code);
}

/** True when a join refused with this code must not be retried (stop watching the conversation). */
export function isFinalJoinRefusal(code: string): boolean {
  return FINAL_JOIN_REFUSALS.has(code);
}

/** A failed REST call: the HTTP status and the server's `{error: {code, message, field}}`. */
export class ApiRequestError extends Error {
  override readonly name = "ApiRequestError";
  constructor(
    /** HTTP status; 0 when no answer arrived. */
    readonly status: number,
    readonly code: string,
    message: string,
    /** The request field the server named as wrong (validation errors). */
    readonly field?: string,
  ) {
    super(message);
  }

  static fromBody(status: number, body: unknown): ApiRequestError {
    const error = (body as Partial<ApiError> | null)?.error;
    if (error && typeof error.code === "string") {
      return new ApiRequestError(status, error.code, error.message ?? error.code, error.field);
    }
    return new ApiRequestError(status, CLIENT_ERROR_CODES.badResponse, `HTTP ${status}`);
  }
}

/** A refused or unanswered socket event: the server's `ErrorEvent` code, or a client-side code. */
export class SocketRequestError extends Error {
  override readonly name = "SocketRequestError";
  constructor(
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    /** The client event that failed. */
    readonly event: string,
  ) {
    super(message);
  }
}
