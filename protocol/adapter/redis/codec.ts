/**
 * Bytes ⇄ messages for the Redis channels, exactly as @socket.io/redis-adapter 8.x writes them:
 * broadcasts are msgpack (notepack.io) tuples; requests and responses are JSON, except the two that
 * may carry binary (a broadcast with acks and a client's ack), which are msgpack. A reader tells
 * them apart by the first byte, `{`, as the official adapter does.
 *
 * Decoding never trusts the bytes: anything that is not the expected shape throws a
 * `MalformedMessageError` with a stable reason, which the adapter logs and ignores.
 */
import { decode as msgpackDecode, encode as msgpackEncode } from "notepack.io";
import { asBuffer } from "../bytes.ts";
import {
  type BroadcastMessage,
  RequestType,
  type WireOptions,
  type WirePacket,
  type WireRequest,
  type WireResponse,
} from "./wire.ts";

/** Why a message on a channel was rejected. */
export const MalformedReason = {
  NOT_DECODABLE: "not decodable as JSON or msgpack",
  NOT_A_BROADCAST: "not a [uid, packet, opts] broadcast tuple",
  BAD_OPTIONS: "broadcast options are not {rooms, except}",
  BAD_PACKET: "packet is not a socket.io event packet",
  NOT_A_REQUEST: "not a request object with a known type",
  NOT_A_RESPONSE: "not a response object with a requestId",
} as const;
export type MalformedReason = (typeof MalformedReason)[keyof typeof MalformedReason];

export class MalformedMessageError extends Error {
  constructor(readonly reason: MalformedReason) {
    super(reason);
    this.name = "MalformedMessageError";
  }
}

const JSON_OPEN_BRACE = 0x7b;
const KNOWN_TYPES = new Set<number>(Object.values(RequestType));

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isRoomList = (v: unknown): boolean =>
  Array.isArray(v) && v.every((r) => typeof r === "string" || typeof r === "number");

function decodeBytes(bytes: Uint8Array): unknown {
  try {
    if (bytes[0] === JSON_OPEN_BRACE) return JSON.parse(new TextDecoder().decode(bytes));
    return msgpackDecode(asBuffer(bytes));
  } catch {
    throw new MalformedMessageError(MalformedReason.NOT_DECODABLE);
  }
}

/** Rooms may arrive as numbers from other servers (socket.io allows them); Switchboard rooms are strings. */
const roomsToStrings = (rooms: unknown): string[] => (Array.isArray(rooms) ? rooms.map(String) : []);

function checkOptions(v: unknown): WireOptions {
  if (!isObject(v)) throw new MalformedMessageError(MalformedReason.BAD_OPTIONS);
  if (v.rooms !== undefined && !isRoomList(v.rooms))
    throw new MalformedMessageError(MalformedReason.BAD_OPTIONS);
  if (v.except !== undefined && !isRoomList(v.except))
    throw new MalformedMessageError(MalformedReason.BAD_OPTIONS);
  return {
    rooms: roomsToStrings(v.rooms),
    except: roomsToStrings(v.except),
    flags: isObject(v.flags) ? (v.flags as WireOptions["flags"]) : {},
  };
}

/** Only events are broadcast (socket.io's EVENT and BINARY_EVENT): anything else would break clients. */
const BROADCASTABLE_TYPES = new Set([2, 5]);

function checkPacket(v: unknown): WirePacket {
  if (!isObject(v) || typeof v.type !== "number" || !BROADCASTABLE_TYPES.has(v.type)) {
    throw new MalformedMessageError(MalformedReason.BAD_PACKET);
  }
  if (!Array.isArray(v.data) || typeof v.data[0] !== "string")
    throw new MalformedMessageError(MalformedReason.BAD_PACKET);
  if (v.nsp !== undefined && typeof v.nsp !== "string")
    throw new MalformedMessageError(MalformedReason.BAD_PACKET);
  if (v.id !== undefined && typeof v.id !== "number")
    throw new MalformedMessageError(MalformedReason.BAD_PACKET);
  // Older emitters omit nsp for the main namespace; the official adapter defaults it the same way.
  return { ...v, nsp: (v.nsp as string | undefined) ?? "/" } as WirePacket;
}

export function encodeBroadcast(message: BroadcastMessage): Uint8Array {
  return msgpackEncode(message);
}

export function decodeBroadcast(bytes: Uint8Array): BroadcastMessage {
  const value = decodeBytes(bytes);
  if (!Array.isArray(value) || value.length < 3 || typeof value[0] !== "string") {
    throw new MalformedMessageError(MalformedReason.NOT_A_BROADCAST);
  }
  return [value[0], checkPacket(value[1]), checkOptions(value[2])];
}

/** A broadcast with acks may carry binary, so it travels as msgpack; every other request is JSON. */
export function encodeRequest(request: WireRequest): string | Uint8Array {
  return request.type === RequestType.BROADCAST ? msgpackEncode(request) : JSON.stringify(request);
}

export function decodeRequest(bytes: Uint8Array): WireRequest {
  const value = decodeBytes(bytes);
  if (!isObject(value) || typeof value.type !== "number" || !KNOWN_TYPES.has(value.type)) {
    throw new MalformedMessageError(MalformedReason.NOT_A_REQUEST);
  }
  const request = value as unknown as WireRequest;
  if (value.opts !== undefined) request.opts = checkOptions(value.opts);
  if (value.packet !== undefined) request.packet = checkPacket(value.packet);
  if (value.rooms !== undefined) {
    if (!isRoomList(value.rooms)) throw new MalformedMessageError(MalformedReason.NOT_A_REQUEST);
    request.rooms = roomsToStrings(value.rooms);
  }
  if (value.data !== undefined && !Array.isArray(value.data))
    throw new MalformedMessageError(MalformedReason.NOT_A_REQUEST);
  return request;
}

/** A client's ack may carry binary, so BROADCAST_ACK travels as msgpack; every other response is JSON. */
export function encodeResponse(response: WireResponse): string | Uint8Array {
  return response.type === RequestType.BROADCAST_ACK ? msgpackEncode(response) : JSON.stringify(response);
}

export function decodeResponse(bytes: Uint8Array): WireResponse {
  const value = decodeBytes(bytes);
  if (!isObject(value) || (typeof value.requestId !== "string" && typeof value.requestId !== "number")) {
    throw new MalformedMessageError(MalformedReason.NOT_A_RESPONSE);
  }
  return { ...value, requestId: String(value.requestId) } as WireResponse;
}
