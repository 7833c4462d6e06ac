/**
 * Fast paths for Socket.IO text packets, byte-for-byte equivalent to socket.io-parser 4.2.7 (the
 * load benchmark found about half the server's CPU on ack round trips inside that parser: string
 * decoding by `charAt`/`Number`, the emitter dispatch, and `hasBinary`'s walk over every argument).
 * Anything these paths do not cover exactly returns `undefined` so the caller falls back to
 * socket.io-parser itself; test/protocol/socketio/text-packet.test.ts compares both on random and
 * mutated packets.
 */
import type { Packet } from "socket.io-parser";
// The same names socket.io-parser refuses as the event of an incoming EVENT packet.
import { RESERVED_EVENTS } from "./reasons.ts";

/** Same messages as socket.io-parser, so logs and tests read the same on either path. */
export const INVALID_PAYLOAD = "invalid payload";

const CHAR_0 = 0x30;
const CHAR_4 = 0x34;
const CHAR_9 = 0x39;
const CHAR_SLASH = 0x2f;
const CHAR_COMMA = 0x2c;
const CHAR_BRACKET = 0x5b;
const CHAR_BRACE = 0x7b;
const CHAR_QUOTE = 0x22;

/**
 * socket.io-parser takes a character as part of the ack id when `Number(c) == c`: the digits, but
 * also every character `Number` trims as white space (it then reads " 1" as 1 and "1 2" as NaN).
 * The JSON openers that usually follow an id are answered without the conversion.
 */
function isIdChar(code: number, str: string, i: number): boolean {
  if (code >= CHAR_0 && code <= CHAR_9) return true;
  if (code === CHAR_BRACKET || code === CHAR_BRACE || code === CHAR_QUOTE) return false;
  const c = str.charAt(i);
  // biome-ignore lint/suspicious/noDoubleEquals: the loose comparison is the behaviour being matched.
  return Number(c) == (c as unknown as number);
}

function isPlainObject(value: unknown): boolean {
  // For JSON.parse output (no reviver) this is exactly `toString.call(v) === "[object Object]"`.
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** socket.io-parser's `Decoder.isPayloadValid` for the text types 0..4. */
function isPayloadValid(type: number, payload: unknown): boolean {
  switch (type) {
    case 0:
      return isPlainObject(payload);
    case 1:
      return payload === undefined;
    case 2: {
      if (!Array.isArray(payload)) return false;
      const first: unknown = payload[0];
      return typeof first === "number" || (typeof first === "string" && !RESERVED_EVENTS.has(first));
    }
    case 3:
      return Array.isArray(payload);
    default:
      return typeof payload === "string" || isPlainObject(payload);
  }
}

function tryParse(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return false;
  }
}

/**
 * Decode a text frame whose first character is a type digit 0..4 (CONNECT, DISCONNECT, EVENT,
 * ACK, CONNECT_ERROR). Returns `undefined` for any other frame (binary headers 5/6, unknown or odd
 * type characters), which the caller hands to socket.io-parser; throws on an invalid payload.
 */
export function decodeTextPacket(str: string): Packet | undefined {
  const type = str.charCodeAt(0) - CHAR_0;
  if (!(type >= 0 && type <= CHAR_4 - CHAR_0)) return undefined;
  const len = str.length;
  let i = 0;
  let nsp = "/";
  if (str.charCodeAt(1) === CHAR_SLASH) {
    i = 1;
    while (++i < len && str.charCodeAt(i) !== CHAR_COMMA) {}
    nsp = str.substring(1, i);
  }
  let id: number | undefined;
  if (i + 1 < len && isIdChar(str.charCodeAt(i + 1), str, i + 1)) {
    const start = i + 1;
    // Past the end the parser's loop reads "" which also passes `Number(c) == c`, so it stops there.
    while (++i < len && isIdChar(str.charCodeAt(i), str, i)) {}
    id = Number(str.substring(start, i));
    i--;
  }
  const packet: Packet = id === undefined ? { type, nsp } : { type, nsp, id };
  if (++i < len) {
    const payload = tryParse(str.substring(i));
    if (!isPayloadValid(type, payload)) throw new Error(INVALID_PAYLOAD);
    packet.data = payload;
  }
  return packet;
}

/**
 * `hasBinary` without the deep generic walk: primitives, arrays and plain objects (prototype
 * Object.prototype or null, no `toJSON`) are answered here; anything else (Buffer, Date, class
 * instances, objects with `toJSON`) returns `undefined` so the caller runs the real `hasBinary`.
 */
function plainHasNoBinary(value: unknown): boolean | undefined {
  if (typeof value !== "object" || value === null) return true;
  if (Array.isArray(value)) {
    for (let i = 0, l = value.length; i < l; i++) {
      const item: unknown = value[i];
      if (typeof item === "object" && item !== null && plainHasNoBinary(item) !== true) return undefined;
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.toJSON === "function") return undefined;
  for (const key in record) {
    const item = record[key];
    if (typeof item === "object" && item !== null && plainHasNoBinary(item) !== true) return undefined;
  }
  return true;
}

/**
 * Encode a packet socket.io-parser would send as a single text frame (types 0..4 without binary
 * anywhere in it), exactly as its `encodeAsString` does. Returns `undefined` when the packet needs
 * (or may need) the binary encoding or is of another type: the caller uses socket.io-parser.
 */
export function encodeTextPacket(packet: Packet): string | undefined {
  const type = packet.type as number;
  if (type === 2 || type === 3) {
    // socket.io-parser walks the whole packet object, not only its data.
    if (plainHasNoBinary(packet) !== true) return undefined;
  } else if (type !== 0 && type !== 1 && type !== 4) {
    return undefined;
  }
  let str = `${type}`;
  if (packet.nsp && packet.nsp !== "/") str += `${packet.nsp},`;
  if (packet.id != null) str += packet.id;
  if (packet.data != null) str += JSON.stringify(packet.data);
  return str;
}
