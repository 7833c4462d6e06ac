/**
 * Glue between a Socket.IO parser and the engine: packets become engine frames, incoming frames
 * become packets. The parser is socket.io-parser unless the `parser` option names another module
 * of the same shape (socket.io-msgpack-parser, say), exactly as socket.io's `parser` option.
 *
 * The default codec keeps the fast paths of text-packet.ts (byte-for-byte socket.io-parser 4.2.7)
 * and falls back to socket.io-parser itself for binary packets. A custom parser is used as it is:
 * one Encoder for the server (encoders are stateless), one Decoder per connection (a decoder may
 * hold a half-reassembled packet).
 */
import * as socketIoParser from "socket.io-parser";
import { type Packet, PacketType } from "socket.io-parser";
import type { PacketEncoder } from "../adapter/host.ts";
import type { RawData } from "../engine/contract.ts";
import { decodeTextPacket, encodeTextPacket } from "./text-packet.ts";

export { type Packet, PacketType };

/** A parser's decoder, as socket.io-parser's and socket.io-msgpack-parser's are. */
export interface ParserDecoder {
  /** One engine frame; throws on a malformed one. Emits "decoded" for each complete packet. */
  add(chunk: unknown): void;
  destroy(): void;
  on(event: "decoded", listener: (packet: Packet) => void): unknown;
}

/**
 * socket.io's `parser` option: a module with an `Encoder` (`encode(packet)` returns the frames:
 * strings and binary) and a `Decoder` (`add(frame)`, "decoded" events, `destroy()`).
 */
export interface Parser {
  Encoder: new () => { encode(packet: Packet): unknown };
  Decoder: new (opts?: { maxAttachments?: number }) => ParserDecoder;
}

/** Decodes the frames of one connection, in order; `add` throws on a malformed packet. */
export interface FrameDecoder {
  add(data: RawData): void;
  destroy(): void;
}

/** How the Socket.IO layer turns packets into frames and back, for one server. */
export interface PacketCodec extends PacketEncoder {
  /**
   * A packet decoded from one frame without any decoder state (the default parser's text
   * packets), or `undefined` when the frame needs a decoder: lets most connections never build one.
   */
  decodeStandalone(data: RawData): Packet | undefined;
  /** A decoder for one connection, calling `onPacket` for each complete packet. */
  createDecoder(onPacket: (packet: Packet) => void): FrameDecoder;
}

/** Binary parts may be any ArrayBuffer view or an ArrayBuffer; the engine sends Uint8Array. */
function toBytes(part: unknown): RawData {
  if (typeof part === "string" || part instanceof Uint8Array) return part;
  if (ArrayBuffer.isView(part)) return new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
  if (part instanceof ArrayBuffer) return new Uint8Array(part);
  return String(part);
}

/** An encoder's output (one frame or an array of them) as engine frames. */
function toFrames(encoded: unknown): RawData[] {
  if (!Array.isArray(encoded)) return [toBytes(encoded)];
  if (encoded.length === 1 && typeof encoded[0] === "string") return encoded as string[];
  return encoded.map(toBytes);
}

/** Incoming binary is handed to parsers and application code as Buffer, as socket.io does on Node. */
function reviveBinary(data: RawData): RawData {
  if (typeof data === "string" || Buffer.isBuffer(data)) return data;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A parser decoder fed engine frames. */
class ParserFrameDecoder implements FrameDecoder {
  constructor(private readonly decoder: ParserDecoder) {}

  add(data: RawData): void {
    this.decoder.add(reviveBinary(data));
  }

  destroy(): void {
    this.decoder.destroy();
  }
}

/**
 * socket.io-parser with the text fast paths. Binary headers, attachments, odd frames, and every
 * frame while a binary packet is being reassembled go through socket.io-parser's Decoder, created
 * on first need.
 */
export class PacketDecoder implements FrameDecoder {
  private decoder: socketIoParser.Decoder | undefined;
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

  private slowPath(): socketIoParser.Decoder {
    if (this.decoder) {
      // Set before `add`: a text header that does not emit starts a reassembly; an emit ends it.
      this.reassembling = true;
      return this.decoder;
    }
    const decoder = new socketIoParser.Decoder({ maxAttachments: this.maxAttachments });
    decoder.on("decoded", (packet: Packet) => {
      this.reassembling = false;
      this.onPacket(packet);
    });
    this.decoder = decoder;
    this.reassembling = true;
    return decoder;
  }
}

const defaultEncoder = new socketIoParser.Encoder();

/**
 * Encode one packet with socket.io-parser into the frames the engine sends back to back (text
 * first, then one binary frame per attachment). The packet object is not modified
 * (socket.io-parser rewrites binary packets in place, so it gets a shallow copy).
 */
export function encodePacket(packet: Packet): RawData[] {
  const text = encodeTextPacket(packet);
  if (text !== undefined) return [text];
  return toFrames(defaultEncoder.encode({ ...packet }));
}

/**
 * The codec for the `parser` option (undefined: socket.io-parser). `maxAttachments` bounds the
 * attachments of one packet for parsers that reassemble them.
 */
export function createCodec(parser: Parser | undefined, maxAttachments: number): PacketCodec {
  if (
    parser === undefined ||
    (parser.Encoder === socketIoParser.Encoder && parser.Decoder === socketIoParser.Decoder)
  ) {
    return {
      encode: encodePacket,
      decodeStandalone: (data) => (typeof data === "string" ? decodeTextPacket(data) : undefined),
      createDecoder: (onPacket) => new PacketDecoder(maxAttachments, onPacket),
    };
  }
  const encoder = new parser.Encoder();
  return {
    encode: (packet) => toFrames(encoder.encode({ ...packet })),
    decodeStandalone: () => undefined,
    createDecoder(onPacket) {
      const decoder = new parser.Decoder({ maxAttachments });
      decoder.on("decoded", onPacket);
      return new ParserFrameDecoder(decoder);
    },
  };
}
