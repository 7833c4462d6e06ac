/**
 * Glue between socket.io-parser and the engine: packets become engine frames (text first, then one
 * binary frame per attachment), incoming frames become packets. The encoder is stateless, so one
 * instance serves the whole process; a decoder holds a half-reassembled binary packet, so each
 * connection owns one.
 */
import { Decoder, Encoder, type Packet, PacketType } from "socket.io-parser";
import type { RawData } from "../engine/contract.ts";
import { decodeTextPacket, encodeTextPacket } from "./text-packet.ts";

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
  const text = encodeTextPacket(packet);
  if (text !== undefined) return [text];
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
 *
 * Text packets of types 0..4 are decoded by `decodeTextPacket` and handed straight to `onPacket`.
 * Everything else (binary headers, attachments, odd frames, and every frame while a binary packet
 * is being reassembled) goes through socket.io-parser's Decoder, created on first need so most
 * connections never allocate one.
 */
export class PacketDecoder {
  private decoder: Decoder | undefined;
  /** The Decoder holds a binary packet waiting for attachments: every frame must go to it. */
  private reassembling = false;

  constructor(
    private readonly maxAttachments: number,
    private readonly onPacket: (packet: Packet) => void,
  ) {}

  add(data: RawData): void {
    if (!this.reassembling && typeof data === "string") {
      const packet = decodeTextPacket(data);
      if (packet !== undefined) {
        this.onPacket(packet);
        return;
      }
    }
    this.slowPath().add(reviveBinary(data));
  }

  destroy(): void {
    this.reassembling = false;
    if (!this.decoder) return;
    this.decoder.destroy();
    this.decoder.off("decoded");
    this.decoder = undefined;
  }

  private slowPath(): Decoder {
    if (this.decoder) {
      // Set before `add`: a text header that does not emit starts a reassembly; an emit ends it.
      this.reassembling = true;
      return this.decoder;
    }
    const decoder = new Decoder({ maxAttachments: this.maxAttachments });
    decoder.on("decoded", (packet: Packet) => {
      this.reassembling = false;
      this.onPacket(packet);
    });
    this.decoder = decoder;
    this.reassembling = true;
    return decoder;
  }
}
