/**
 * The wire format of `@socket.io/redis-adapter` 8.x (the classic `createAdapter`, not the sharded
 * one) and `@socket.io/redis-emitter` 5.x: channel names, request types and message shapes. Every
 * byte here must match what those packages publish, so a Switchboard node, an official socket.io
 * node and an emitter can share one Redis.
 *
 * Channels, for a key prefix `socket.io` and namespace `/chat`:
 * - `socket.io#/chat#`          broadcasts to several rooms / everyone (msgpack `[uid, packet, opts]`)
 * - `socket.io#/chat#ROOM#`     broadcasts to exactly one room (same message)
 * - `socket.io-request#/chat#`  cluster requests (JSON, or msgpack for a broadcast with acks)
 * - `socket.io-response#/chat#` responses (JSON, or msgpack for a client's ack)
 * - `socket.io-response#/chat#UID#` responses meant for one node (`publishOnSpecificResponseChannel`)
 */

/** Request types, numbered exactly as `RequestType` in @socket.io/redis-adapter. */
export const RequestType = {
  SOCKETS: 0,
  ALL_ROOMS: 1,
  REMOTE_JOIN: 2,
  REMOTE_LEAVE: 3,
  REMOTE_DISCONNECT: 4,
  REMOTE_FETCH: 5,
  SERVER_SIDE_EMIT: 6,
  BROADCAST: 7,
  BROADCAST_CLIENT_COUNT: 8,
  BROADCAST_ACK: 9,
} as const;
export type RequestType = (typeof RequestType)[keyof typeof RequestType];

/** The uid the official emitter stamps on what it publishes (it never answers requests). */
export const EMITTER_UID = "emitter";

export type Room = string;

/** Broadcast flags as they travel (socket.io's `BroadcastFlags`). */
export interface WireFlags {
  volatile?: boolean;
  compress?: boolean;
  local?: boolean;
  broadcast?: boolean;
  binary?: boolean;
  timeout?: number;
}

/** Broadcast options as they travel: sets become arrays. */
export interface WireOptions {
  rooms: Room[];
  except: Room[];
  flags?: WireFlags;
}

/** A socket.io-parser packet object before encoding (type 2 EVENT, 5 BINARY_EVENT, ...). */
export interface WirePacket {
  type: number;
  nsp?: string;
  data?: unknown;
  id?: number;
}

/** A broadcast on a broadcast channel: msgpack of this tuple. */
export type BroadcastMessage = [uid: string, packet: WirePacket, opts: WireOptions];

/** What a remote socket looks like in a REMOTE_FETCH response. */
export interface WireSocket {
  id: string;
  handshake: Record<string, unknown>;
  rooms: Room[];
  data: unknown;
}

/** Every request on the request channel. Fields are optional because emitters and old nodes omit some. */
export interface WireRequest {
  type: RequestType;
  uid?: string;
  requestId?: string;
  /** SOCKETS: rooms to list. */
  rooms?: Room[];
  /** REMOTE_JOIN / REMOTE_LEAVE / REMOTE_DISCONNECT / REMOTE_FETCH / BROADCAST: whom it applies to. */
  opts?: WireOptions;
  /** Legacy per-socket form of REMOTE_JOIN / REMOTE_LEAVE / REMOTE_DISCONNECT. */
  sid?: string;
  room?: Room;
  /** REMOTE_DISCONNECT: also close the underlying connection. */
  close?: boolean;
  /** SERVER_SIDE_EMIT: `[event, ...args]`. */
  data?: unknown[];
  /** BROADCAST: the packet to deliver with acks. */
  packet?: WirePacket;
}

/** Every response on the response channels. */
export interface WireResponse {
  requestId: string;
  /** Present on SERVER_SIDE_EMIT, BROADCAST_CLIENT_COUNT and BROADCAST_ACK responses only. */
  type?: RequestType;
  sockets?: unknown[];
  rooms?: Room[];
  /** SERVER_SIDE_EMIT: the single ack argument. */
  data?: unknown;
  clientCount?: number;
  /** BROADCAST_ACK: the client's ack argument. */
  packet?: unknown;
}

/** Channel names for one namespace under one key prefix. */
export interface Channels {
  /** Prefix of every broadcast channel; also the channel of multi-room and global broadcasts. */
  readonly broadcast: string;
  readonly request: string;
  readonly response: string;
  /** Responses addressed to this node only. */
  readonly specificResponse: string;
  /** The channel a broadcast to exactly one room is published on. */
  room(room: Room): string;
  /** The response channel of another node (when responses go to the requester only). */
  responseFor(uid: string): string;
}

export const DEFAULT_KEY_PREFIX = "socket.io";

export function channelsFor(nsp: string, uid: string, key = DEFAULT_KEY_PREFIX): Channels {
  const broadcast = `${key}#${nsp}#`;
  const response = `${key}-response#${nsp}#`;
  return {
    broadcast,
    request: `${key}-request#${nsp}#`,
    response,
    specificResponse: `${response}${uid}#`,
    room: (room) => `${broadcast}${room}#`,
    responseFor: (other) => `${response}${other}#`,
  };
}

/**
 * The channel a broadcast is published on: the room's own channel when it targets exactly one
 * room (so nodes subscribed per room receive it), the namespace channel otherwise.
 */
export function broadcastChannel(channels: Channels, rooms: readonly Room[]): string {
  return rooms.length === 1 ? channels.room(rooms[0] as Room) : channels.broadcast;
}

/**
 * The room a message on a broadcast channel is scoped to, or "" for the namespace channel, or null
 * when the channel is not one of this namespace's broadcast channels.
 */
export function roomOfChannel(channels: Channels, channel: string): Room | null {
  if (!channel.startsWith(channels.broadcast)) return null;
  if (channel.length === channels.broadcast.length) return "";
  if (!channel.endsWith("#")) return null;
  return channel.slice(channels.broadcast.length, -1);
}
