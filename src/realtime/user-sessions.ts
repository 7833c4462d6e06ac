/**
 * Bringing live sockets in line when an account or a login session changes, on every node of a
 * cluster (the adapter carries `to(room).emit` and `in(room).disconnectSockets` to the other nodes).
 *
 * Each socket first gets `error {code, message}` saying why, then is disconnected
 * ("io server disconnect"): `account_disabled` and `session_revoked` mean "log in again",
 * `role_changed` means "reconnect": the handshake reads the new role.
 */
import { ERROR_CODES, sessionRoom, type Uuid, userRoom } from "../shared/events.ts";
import { type ChatServer, errorEvent } from "./types.ts";

/** Why sockets are closed from here. */
export type SessionEndReason =
  | typeof ERROR_CODES.accountDisabled
  | typeof ERROR_CODES.sessionRevoked
  | typeof ERROR_CODES.roleChanged;

export const SESSION_END_MESSAGES: Record<SessionEndReason, string> = {
  account_disabled: "this account has been disabled",
  session_revoked: "this session has ended (logout or password change); log in again",
  role_changed: "your role has changed: reconnect to continue with the new one",
};

/** What the HTTP layer (and anything else that changes accounts) asks of the realtime layer. */
export interface LiveSessions {
  /** Closes every live socket of `userId` (deactivation, password change). */
  endUserSessions(userId: Uuid, reason: SessionEndReason): void;
  /** Closes the live sockets opened with the tokens of one login session (logout, token reuse). */
  endSession(sessionId: Uuid, reason: SessionEndReason): void;
  /**
   * The user's role (or anything else the access rule reads about them) changed. For now their
   * sockets are closed with `role_changed` so they reconnect with the new role; the finer-grained
   * `reconcileUserAccess(userId)` (leave only the rooms no longer allowed) can replace this body.
   */
  onUserAccessChanged(userId: Uuid): void;
}

function closeRoom(io: ChatServer, room: string, reason: SessionEndReason): void {
  io.to(room).emit("error", errorEvent(reason, SESSION_END_MESSAGES[reason]));
  io.in(room).disconnectSockets(true);
}

export function createLiveSessions(io: ChatServer): LiveSessions {
  return {
    endUserSessions: (userId, reason) => closeRoom(io, userRoom(userId), reason),
    endSession: (sessionId, reason) => closeRoom(io, sessionRoom(sessionId), reason),
    onUserAccessChanged: (userId) => closeRoom(io, userRoom(userId), ERROR_CODES.roleChanged),
  };
}
