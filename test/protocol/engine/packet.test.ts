/**
 * The engine's hand-written codec against engine.io-parser (the reference implementation) as an
 * oracle: same bytes out, same packets in.
 */
import { describe, expect, test } from "bun:test";
import { decodePayload, encodePayload, type Packet } from "engine.io-parser";
import fc from "fast-check";
import {
  decodePollingPayload,
  decodeTextPacket,
  encodeMessage,
  encodePollingPayload,
  PacketType,
} from "../../../protocol/engine/packet.ts";

const TYPE_NAMES = ["open", "close", "ping", "pong", "message", "upgrade", "noop"] as const;

const message = fc.oneof(fc.string({ unit: "grapheme" }), fc.string(), fc.uint8Array({ maxLength: 50 }));

function referenceEncode(packets: Packet[]): string {
  let out = "";
  encodePayload(packets, (encoded) => {
    out = encoded;
  });
  return out;
}

describe("engine packet codec", () => {
  test("polling payloads are byte-identical to engine.io-parser's encodePayload", () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 8 }), (messages) => {
        const ours = encodePollingPayload(messages.map(encodeMessage));
        const reference = referenceEncode(
          messages.map((data) => ({
            type: "message",
            data: typeof data === "string" ? data : Buffer.from(data),
          })),
        );
        expect(ours).toBe(reference);
      }),
      { numRuns: 300 },
    );
  });

  test("decoding agrees with engine.io-parser's decodePayload on valid and mutated payloads", () => {
    const segment = fc.oneof(
      message.map((m) => encodePollingPayload([encodeMessage(m)])),
      fc.constantFrom("2", "3", "6", "1", "5", "2probe", "0{}", "", "x", "9", "b", "b===", "bAQI="),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (segments) => {
        const payload = segments.join("\x1e");
        const ours = decodePollingPayload(payload).map((p) =>
          p.type === -1
            ? { type: "error", data: "parser error" }
            : { type: TYPE_NAMES[p.type], data: p.data },
        );
        const reference = decodePayload(payload, "nodebuffer").map((p) => ({
          type: p.type,
          // engine.io-parser leaves data undefined for a bare type; the engine uses "" (RawData is never undefined).
          data: p.data === undefined ? "" : p.data instanceof Buffer ? new Uint8Array(p.data) : p.data,
        }));
        expect(ours).toEqual(reference);
      }),
      { numRuns: 300 },
    );
  });

  test("a text message is '4' + text and binary stays raw bytes (no prefix) for websockets", () => {
    expect(encodeMessage("hi")).toBe("4hi");
    const bytes = new Uint8Array([1, 2]);
    expect(encodeMessage(bytes)).toBe(bytes);
    expect(decodeTextPacket("4")).toEqual({ type: PacketType.MESSAGE, data: "" });
    expect(decodeTextPacket("2probe")).toEqual({ type: PacketType.PING, data: "probe" });
    expect(decodeTextPacket("z").type).toBe(-1);
  });
});
