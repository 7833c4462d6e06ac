/**
 * Bringing live sockets in line when an account or a login session changes, on every node of a
 * cluster (the adapter carries `to(room).emit` and `in(room).disconnectSockets` to the other nodes).
 *
 * Each socket first gets `error {code, message}` saying why, then is disconnected
 * ("io server disconnect"): `account_disabled` and `session_revoked` mean "log in again". A role
 * change closes nothing: src/realtime/live-access.ts takes away only what the new role may not see.
 */
import { type ERROR_CODES, sessionRoom, type Uuid, userRoom } from "../shared/events.ts";
import { type ChatServer, errorEvent } from "./types.ts";

/** Why sockets are closed from here. */
export type SessionEndReason = typeof ERROR_CODES.accountDisabled | typeof ERROR_CODES.sessionRevoked;

export const SESSION_END_MESSAGES: Record<SessionEndReason, string> = {
  account_disabled: "this account has been disabled",
  session_revoked: "this session has ended (logout or password change); log in again",
};

/** What the HTTP layer (and anything else that changes accounts) asks of the realtime layer. */
export interface LiveSessions {
  /** Closes every live socket of `userId` (deactivation, password change). */
  endUserSessions(userId: Uuid, reason: SessionEndReason): void;
  /** Closes the live sockets opened with the tokens of one login session (logout, token reuse). */
  endSession(sessionId: Uuid, reason: SessionEndReason): void;
}

function closeRoom(io: ChatServer, room: string, reason: SessionEndReason): void {
  io.to(room).emit("error", errorEvent(reason, SESSION_END_MESSAGES[reason]));
  io.in(room).disconnectSockets(true);
}

export function createLiveSessions(io: ChatServer): LiveSessions {
  return {
    endUserSessions: (userId, reason) => closeRoom(io, userRoom(userId), reason),
    endSession: (sessionId, reason) => closeRoom(io, sessionRoom(sessionId), reason),
  };
}
