/**
 * Engine.IO v4 packet encoding, written for the hot path: a message packet is "4" + text on a text
 * frame, or raw bytes on a binary frame; only polling pays for `\x1e` joins and base64.
 * See docs/engine.io-protocol/v4-current.md.
 */
import type { EnginePacket, EnginePacketType, RawData } from "./contract.ts";

/** Packet types as their wire digit. */
export const PacketType = {
  OPEN: 0,
  CLOSE: 1,
  PING: 2,
  PONG: 3,
  MESSAGE: 4,
  UPGRADE: 5,
  NOOP: 6,
} as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

/** Separates packets in a polling payload. */
export const RECORD_SEPARATOR = "\x1e";
/** Prefix of a base64 binary packet in a polling payload. */
const BINARY_PREFIX = "b";
const DIGIT_ZERO = 48;

export const ENCODED_PING = "2";
export const ENCODED_NOOP = "6";
export const ENCODED_CLOSE = "1";
export const ENCODED_PROBE_PING = "2probe";
export const ENCODED_PROBE_PONG = "3probe";

/**
 * A packet waiting to be written: an encoded text packet ("4hello", "2", "6", "0{...}") or a binary
 * message (raw bytes; a websocket sends them as a binary frame, polling as `b` + base64).
 */
export type OutPacket = string | Uint8Array;

/** Encodes one message packet. Binary stays raw so the same bytes can go to every transport. */
export function encodeMessage(data: RawData): OutPacket {
  return typeof data === "string" ? `4${data}` : data;
}

/** Bytes an out packet holds in memory (string length is close enough for a buffer bound). */
export function outPacketSize(packet: OutPacket): number {
  return typeof packet === "string" ? packet.length : packet.byteLength;
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Encodes packets as one polling payload: `\x1e`-joined, binary as `b` + base64. */
export function encodePollingPayload(packets: readonly OutPacket[]): string {
  let out = "";
  for (let i = 0; i < packets.length; i++) {
    const p = packets[i]!;
    if (i > 0) out += RECORD_SEPARATOR;
    out += typeof p === "string" ? p : BINARY_PREFIX + toBase64(p);
  }
  return out;
}

/** One decoded incoming packet; `type` is -1 for a packet that is not valid Engine.IO. */
export interface DecodedPacket {
  type: PacketType | -1;
  data: RawData;
}

const INVALID: DecodedPacket = { type: -1, data: "" };

/** Decodes one text packet ("4hello", "3", "bAQI=" for base64 binary). */
export function decodeTextPacket(text: string): DecodedPacket {
  const code = text.charCodeAt(0);
  const type = code - DIGIT_ZERO;
  if (type >= PacketType.OPEN && type <= PacketType.NOOP) {
    return { type: type as PacketType, data: text.length > 1 ? text.slice(1) : "" };
  }
  if (text[0] === BINARY_PREFIX) {
    return { type: PacketType.MESSAGE, data: new Uint8Array(Buffer.from(text.slice(1), "base64")) };
  }
  return INVALID;
}

/**
 * Decodes a polling payload. Decoding stops at the first invalid packet, which is returned last
 * (type -1) so the caller can close with "parse error" after handling the valid ones, as engine.io does.
 */
export function decodePollingPayload(payload: string): DecodedPacket[] {
  const parts = payload.split(RECORD_SEPARATOR);
  const packets: DecodedPacket[] = [];
  for (const part of parts) {
    const packet = decodeTextPacket(part);
    packets.push(packet);
    if (packet.type === -1) break;
  }
  return packets;
}

const PACKET_NAMES: readonly EnginePacketType[] = [
  "open",
  "close",
  "ping",
  "pong",
  "message",
  "upgrade",
  "noop",
];

/** An outgoing packet as engine.io's `packetCreate` event shows it. */
export function describeOutPacket(packet: OutPacket, compress: boolean): EnginePacket {
  if (typeof packet !== "string") return { type: "message", data: packet, options: { compress } };
  const type = PACKET_NAMES[packet.charCodeAt(0) - DIGIT_ZERO] ?? "error";
  return packet.length > 1
    ? { type, data: packet.slice(1), options: { compress } }
    : { type, options: { compress } };
}

/** An incoming packet as engine.io's `packet` event shows it (-1: engine.io's parser error packet). */
export function describeInPacket(type: PacketType | -1, data: RawData): EnginePacket {
  if (type === -1) return { type: "error", data: "parser error" };
  const name = PACKET_NAMES[type] ?? "error";
  return typeof data === "string" && data === "" ? { type: name } : { type: name, data };
}
