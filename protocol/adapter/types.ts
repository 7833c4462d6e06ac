/**
 * Shapes shared by every adapter, kept identical to socket.io-adapter's so that a cluster adapter
 * wire-compatible with @socket.io/redis-adapter can serialize them unchanged.
 */
import type { Packet } from "socket.io-parser";

export type SocketId = string;
/** The private id a client keeps to recover its session (`pid` in the CONNECT answer). */
export type PrivateSessionId = string;
export type Room = string;

export interface BroadcastFlags {
  /** Drop the packet for receivers that cannot take it now. */
  volatile?: boolean;
  /** Compress the frames (default true). */
  compress?: boolean;
  /** Only this node: a cluster adapter must not forward the operation. */
  local?: boolean;
  /** Added by broadcast operators: not part of the wire format. */
  broadcast?: boolean;
  /** Ack timeout in milliseconds (broadcast acks). */
  timeout?: number;
  /** `emitWithAck` on a single socket id: resolve with the one answer, not an array. */
  expectSingleResponse?: boolean;
}

export interface BroadcastOptions {
  /** Receivers: members of any of these rooms; empty = the whole namespace. */
  rooms: Set<Room>;
  /** Sockets in any of these rooms are skipped (a socket id is a room). */
  except?: Set<Room>;
  flags?: BroadcastFlags;
}

/** What is stored when a socket disconnects with a recoverable reason. */
export interface SessionToPersist {
  sid: SocketId;
  pid: PrivateSessionId;
  rooms: Room[];
  data: unknown;
}

/** A restored session: the stored one plus the event payloads the client missed, in order. */
export interface Session extends SessionToPersist {
  missedPackets: unknown[][];
}

/** An outgoing Socket.IO packet as adapters see it (socket.io-parser's Packet). */
export type { Packet };

/** Events an adapter emits about rooms (socket.io-adapter's, same names and arguments). */
export interface AdapterEvents {
  "create-room": (room: Room) => void;
  "delete-room": (room: Room) => void;
  "join-room": (room: Room, id: SocketId) => void;
  "leave-room": (room: Room, id: SocketId) => void;
}
