/**
 * Glue between socket.io-parser and the engine: packets become engine frames (text first, then one
 * binary frame per attachment), incoming frames become packets. The encoder is stateless, so one
 * instance serves the whole process; a decoder holds a half-reassembled binary packet, so each
 * connection owns one.
 */
import { Decoder, Encoder, type Packet, PacketType } from "socket.io-parser";
import type { RawData } from "../engine/contract.ts";

export { type Packet, PacketType };

const encoder = new Encoder();

/** Binary attachments may be any ArrayBuffer view or an ArrayBuffer; the engine sends Uint8Array. */
function toBytes(part: unknown): RawData {
  if (typeof part === "string" || part instanceof Uint8Array) return part;
  if (ArrayBuffer.isView(part)) return new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
  if (part instanceof ArrayBuffer) return new Uint8Array(part);
  return String(part);
}

/**
 * Encode one packet into the frames the engine sends back to back. The packet object is not
 * modified (socket.io-parser rewrites binary packets in place, so it gets a shallow copy).
 */
export function encodePacket(packet: Packet): RawData[] {
  const parts: unknown[] = encoder.encode({ ...packet });
  if (parts.length === 1 && typeof parts[0] === "string") return parts as string[];
  return parts.map(toBytes);
}

/** Incoming attachments are handed to application code as Buffer, as socket.io does on Node. */
function reviveBinary(data: RawData): RawData {
  if (typeof data === "string" || Buffer.isBuffer(data)) return data;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * A decoder for one connection. `add` throws on a malformed packet (bad type, bad JSON, invalid
 * payload, too many attachments, binary out of sequence): the caller closes the connection.
 */
export class PacketDecoder {
  private readonly decoder: Decoder;

  constructor(maxAttachments: number, onPacket: (packet: Packet) => void) {
    this.decoder = new Decoder({ maxAttachments });
    this.decoder.on("decoded", onPacket);
  }

  add(data: RawData): void {
    this.decoder.add(reviveBinary(data));
  }

  destroy(): void {
    this.decoder.destroy();
    this.decoder.off("decoded");
  }
}
