/**
 * The message protocol of socket.io-adapter's `ClusterAdapter` (socket.io-adapter 2.5), spoken by
 * `@socket.io/postgres-adapter` 0.5, the sharded `@socket.io/redis-adapter` 8.3 and their emitters.
 * Each transport (a Postgres channel, a Redis shard channel) carries these objects; only the
 * framing differs (JSON or msgpack, attachments).
 *
 * A message is `{uid, nsp, type, data}`. Decoding never trusts the input: anything that is not the
 * expected shape throws a `MalformedMessageError` with a stable reason.
 */
import { MalformedMessageError, MalformedReason } from "../redis/codec.ts";

export { MalformedMessageError, MalformedReason };

/** Numbered exactly as `MessageType` in socket.io-adapter's cluster-adapter. */
export const MessageType = {
  INITIAL_HEARTBEAT: 1,
  HEARTBEAT: 2,
  BROADCAST: 3,
  SOCKETS_JOIN: 4,
  SOCKETS_LEAVE: 5,
  DISCONNECT_SOCKETS: 6,
  FETCH_SOCKETS: 7,
  FETCH_SOCKETS_RESPONSE: 8,
  SERVER_SIDE_EMIT: 9,
  SERVER_SIDE_EMIT_RESPONSE: 10,
  BROADCAST_CLIENT_COUNT: 11,
  BROADCAST_ACK: 12,
  ADAPTER_CLOSE: 13,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** The uid the official emitters stamp on what they publish (they never answer). */
export const EMITTER_UID = "emitter";

/** Broadcast options as they travel: sets become arrays. */
export interface WireOptions {
  rooms: string[];
  except: string[];
  flags?: Record<string, unknown>;
}

/** A socket.io-parser packet object before encoding. */
export interface WirePacket {
  type: number;
  nsp: string;
  data: unknown[];
  id?: number;
}

export interface WireSocket {
  id: string;
  handshake: Record<string, unknown>;
  rooms: string[];
  data: unknown;
}

/** Every field a message's `data` may hold, per type (see socket.io-adapter's ClusterMessage). */
export interface MessageData {
  packet?: WirePacket | unknown[] | unknown;
  opts?: WireOptions;
  requestId?: string;
  rooms?: string[];
  close?: boolean;
  sockets?: WireSocket[];
  clientCount?: number;
}

export interface ClusterMessage {
  uid: string;
  nsp: string;
  type: MessageType;
  data?: MessageData;
}

const KNOWN_TYPES = new Set<number>(Object.values(MessageType));
const BROADCASTABLE_PACKET_TYPES = new Set([2, 5]);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isRoomList = (v: unknown): boolean =>
  Array.isArray(v) && v.every((r) => typeof r === "string" || typeof r === "number");
const roomsToStrings = (rooms: unknown): string[] => (Array.isArray(rooms) ? rooms.map(String) : []);

function checkOptions(v: unknown): WireOptions {
  if (!isObject(v) || (v.rooms !== undefined && !isRoomList(v.rooms)))
    throw new MalformedMessageError(MalformedReason.BAD_OPTIONS);
  if (v.except !== undefined && !isRoomList(v.except))
    throw new MalformedMessageError(MalformedReason.BAD_OPTIONS);
  return {
    rooms: roomsToStrings(v.rooms),
    except: roomsToStrings(v.except),
    flags: isObject(v.flags) ? v.flags : {},
  };
}

function checkPacket(v: unknown, nsp: string): WirePacket {
  if (!isObject(v) || typeof v.type !== "number" || !BROADCASTABLE_PACKET_TYPES.has(v.type))
    throw new MalformedMessageError(MalformedReason.BAD_PACKET);
  if (!Array.isArray(v.data) || typeof v.data[0] !== "string")
    throw new MalformedMessageError(MalformedReason.BAD_PACKET);
  if (v.id !== undefined && typeof v.id !== "number")
    throw new MalformedMessageError(MalformedReason.BAD_PACKET);
  if (v.nsp !== undefined && v.nsp !== nsp) throw new MalformedMessageError(MalformedReason.BAD_PACKET);
  return { type: v.type, nsp, data: v.data, ...(v.id === undefined ? {} : { id: v.id }) };
}

/**
 * Validates a decoded message. `channelNsp` is the namespace of the channel it came on: the
 * emitters leave `nsp` out of what they publish, the channel says it unambiguously.
 */
export function checkMessage(value: unknown, channelNsp: string): ClusterMessage {
  if (!isObject(value) || typeof value.type !== "number" || !KNOWN_TYPES.has(value.type))
    throw new MalformedMessageError(MalformedReason.NOT_A_REQUEST);
  if (typeof value.uid !== "string") throw new MalformedMessageError(MalformedReason.NOT_A_REQUEST);
  if (value.nsp !== undefined && value.nsp !== channelNsp)
    throw new MalformedMessageError(MalformedReason.NOT_A_REQUEST);
  const type = value.type as MessageType;
  const message: ClusterMessage = { uid: value.uid, nsp: channelNsp, type };
  if (value.data === undefined) return message;
  if (!isObject(value.data)) throw new MalformedMessageError(MalformedReason.NOT_A_REQUEST);
  const raw = value.data;
  const data: MessageData = {};
  if (raw.requestId !== undefined) {
    if (typeof raw.requestId !== "string" && typeof raw.requestId !== "number")
      throw new MalformedMessageError(MalformedReason.NOT_A_RESPONSE);
    data.requestId = String(raw.requestId);
  }
  if (raw.opts !== undefined) data.opts = checkOptions(raw.opts);
  if (raw.rooms !== undefined) {
    if (!isRoomList(raw.rooms)) throw new MalformedMessageError(MalformedReason.NOT_A_REQUEST);
    data.rooms = roomsToStrings(raw.rooms);
  }
  if (raw.close !== undefined) data.close = raw.close === true;
  if (raw.clientCount !== undefined) data.clientCount = Number(raw.clientCount) || 0;
  if (raw.sockets !== undefined) {
    if (!Array.isArray(raw.sockets)) throw new MalformedMessageError(MalformedReason.NOT_A_RESPONSE);
    data.sockets = raw.sockets.filter(isWireSocket);
  }
  if (type === MessageType.BROADCAST) data.packet = checkPacket(raw.packet, channelNsp);
  else if (type === MessageType.SERVER_SIDE_EMIT) {
    if (!Array.isArray(raw.packet) || typeof raw.packet[0] !== "string")
      throw new MalformedMessageError(MalformedReason.NOT_A_REQUEST);
    data.packet = raw.packet;
  } else if (raw.packet !== undefined) data.packet = raw.packet;
  if (type === MessageType.BROADCAST && !data.opts)
    throw new MalformedMessageError(MalformedReason.BAD_OPTIONS);
  message.data = data;
  return message;
}

function isWireSocket(value: unknown): value is WireSocket {
  return isObject(value) && typeof value.id === "string";
}

/**
 * Whether a value holds binary (Buffer, typed array, ArrayBuffer) anywhere, as socket.io's
 * `hasBinary`: such messages cannot travel as JSON.
 */
export function hasBinary(value: unknown, depth = 0): boolean {
  if (!value || typeof value !== "object" || depth > 64) return false;
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return true;
  if (Array.isArray(value)) return value.some((item) => hasBinary(item, depth + 1));
  for (const key in value)
    if (Object.hasOwn(value, key) && hasBinary((value as Record<string, unknown>)[key], depth + 1))
      return true;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  return typeof toJSON === "function" && depth === 0 ? hasBinary(toJSON.call(value), depth + 1) : false;
}
