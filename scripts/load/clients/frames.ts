/**
 * Minimal RFC 6455 framing for the generator's websocket client: a streaming parser for the
 * server's (unmasked) frames and an encoder for the client's (masked) frames. Bun's WebSocket
 * client costs ~18 µs of generator CPU per received message (a MessageEvent per frame), which caps
 * the generator below the servers it measures; parsing frames from raw TCP chunks costs far less.
 */

export const Opcode = { Continuation: 0, Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 } as const;

export const FrameError = {
  TooLarge: "frame too large",
  Masked: "server frame is masked",
} as const;

/** Largest frame the generator accepts (64 MiB): anything larger is a server bug here. */
const MAX_FRAME = 64 * 1024 * 1024;

export interface FrameSink {
  /**
   * A complete text message (fragments joined), as bytes `buf[start, end)`: valid only during
   * the call. The hot path reads what it needs without decoding the whole frame to a string.
   */
  text(buf: Buffer, start: number, end: number): void;
  /** A control frame (ping, pong, close) with its payload. */
  control(opcode: number, payload: Uint8Array): void;
}

/** Parses frames out of a byte stream fed in arbitrary chunks. */
export class FrameParser {
  private pending: Buffer | null = null;
  private fragments: Buffer[] = [];
  private fragmentOpcode = 0;

  constructor(private readonly sink: FrameSink) {}

  push(chunk: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let at = 0;
    const end = buf.length;
    while (end - at >= 2) {
      const b0 = buf[at]!;
      const b1 = buf[at + 1]!;
      if (b1 & 0x80) throw new Error(FrameError.Masked);
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (end - at < 4) break;
        len = buf.readUInt16BE(at + 2);
        head = 4;
      } else if (len === 127) {
        if (end - at < 10) break;
        len = Number(buf.readBigUInt64BE(at + 2));
        head = 10;
        if (len > MAX_FRAME) throw new Error(FrameError.TooLarge);
      }
      if (end - at < head + len) break;
      const start = at + head;
      at = start + len;
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if (opcode === Opcode.Text && fin) {
        this.sink.text(buf, start, at);
      } else if (opcode >= Opcode.Close) {
        this.sink.control(opcode, buf.subarray(start, at));
      } else {
        // Fragmented or binary data: rare in these scenarios, so the slow path copies.
        if (opcode !== Opcode.Continuation) this.fragmentOpcode = opcode;
        this.fragments.push(Buffer.from(buf.subarray(start, at)));
        if (fin) {
          const whole = Buffer.concat(this.fragments);
          this.fragments = [];
          if (this.fragmentOpcode === Opcode.Text) this.sink.text(whole, 0, whole.length);
        }
      }
    }
    if (at < end) {
      // Keep the incomplete tail; copy it because Bun may reuse the chunk's memory.
      this.pending = Buffer.from(buf.subarray(at));
    }
  }
}

/** One masked client frame. The mask key is per connection and random (RFC 6455 §5.3). */
export function encodeFrame(opcode: number, payload: Buffer, mask: Uint8Array): Buffer {
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + 4 + len);
  frame[0] = 0x80 | opcode;
  if (head === 2) frame[1] = 0x80 | len;
  else if (head === 4) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(len), 2);
  }
  frame.set(mask, head);
  const body = head + 4;
  for (let i = 0; i < len; i++) frame[body + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}
