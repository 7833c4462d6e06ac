/**
 * Equivalence of the text-packet fast paths (protocol/socketio/text-packet.ts, wired in by
 * packet-codec.ts) with socket.io-parser 4.2.7: on random valid packets, mutated packets, random
 * strings and frame sequences mixing binary packets, the decoder emits the same packets and throws
 * the same errors; the encoder produces the same frames, byte for byte.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Decoder, Encoder, type Packet } from "socket.io-parser";
import type { RawData } from "../../../protocol/engine/contract.ts";
import { encodePacket, PacketDecoder } from "../../../protocol/socketio/packet-codec.ts";
import { decodeTextPacket, encodeTextPacket } from "../../../protocol/socketio/text-packet.ts";

const MAX_ATTACHMENTS = 3;
const RUNS = 3000;

type Outcome = { packets: unknown[]; error?: string };

function normalize(packet: Packet): unknown {
  // JSON-like deep copy with key order kept; Buffers become tagged byte arrays.
  return JSON.parse(
    JSON.stringify(packet, (_k, v) =>
      v && typeof v === "object" && v.type === "Buffer" ? { buf: v.data } : v,
    ),
  );
}

function runReference(frames: RawData[]): Outcome[] {
  const decoder = new Decoder({ maxAttachments: MAX_ATTACHMENTS });
  let got: unknown[] = [];
  decoder.on("decoded", (p: Packet) => got.push(normalize(p)));
  return frames.map((frame) => {
    got = [];
    try {
      decoder.add(typeof frame === "string" ? frame : Buffer.from(frame));
      return { packets: got };
    } catch (err) {
      return { packets: got, error: (err as Error).message };
    }
  });
}

function runOurs(frames: RawData[]): Outcome[] {
  let got: unknown[] = [];
  const decoder = new PacketDecoder(MAX_ATTACHMENTS, (p) => got.push(normalize(p)));
  return frames.map((frame) => {
    got = [];
    try {
      decoder.add(frame);
      return { packets: got };
    } catch (err) {
      return { packets: got, error: (err as Error).message };
    }
  });
}

/** Characters that steer socket.io-parser's branches (digits, separators, white space, JSON). */
const TRICKY = fc.constantFrom(
  ..."0123456789/,-[]{}\"' \t\n\r\v\f\u00a0\u2028\ufeffaeE.+:nul".split(""),
  "null",
  "true",
  '"connect"',
  '"disconnect"',
  "1e3",
  "-1",
);

const jsonData = fc.oneof(
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  fc
    .tuple(fc.string({ maxLength: 6 }), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }))
    .map(([e, r]) => [e, ...r]),
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(["connect"], ["newListener", 1], [1, 2], [], {}, "err", { message: "x" }),
);

const textPacket = fc.record(
  {
    type: fc.integer({ min: 0, max: 4 }),
    nsp: fc.oneof(
      fc.constant("/"),
      fc.constantFrom("/chat", "/a,b", "/1", "/ "),
      fc.string({ maxLength: 5 }),
    ),
    id: fc.oneof(fc.nat(), fc.constant(0), fc.double()),
    data: jsonData,
  },
  { requiredKeys: ["type", "nsp"] },
);

const encoder = new Encoder();
const validText = textPacket.map((p) => encoder.encode(p as Packet)[0] as string);

const mutated = fc
  .tuple(
    validText,
    fc.array(fc.tuple(fc.nat(), fc.constantFrom("insert", "delete", "replace"), TRICKY), { maxLength: 4 }),
  )
  .map(([s, edits]) => {
    let out = s;
    for (const [at, op, text] of edits) {
      const i = out.length === 0 ? 0 : at % (out.length + 1);
      if (op === "insert") out = out.slice(0, i) + text + out.slice(i);
      else if (op === "delete") out = out.slice(0, i) + out.slice(i + 1);
      else out = out.slice(0, i) + text + out.slice(i + 1);
    }
    return out;
  });

const randomText = fc.oneof(
  fc.array(TRICKY, { maxLength: 12 }).map((a) => a.join("")),
  fc.string({ maxLength: 12 }),
);

const binaryFrames = fc.constantFrom<RawData[]>(
  ['51-["e",{"_placeholder":true,"num":0}]', new Uint8Array([1, 2])],
  [
    '52-/chat,7["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
    new Uint8Array([1]),
    new Uint8Array(),
  ],
  ['61-3[{"_placeholder":true,"num":0}]', new Uint8Array([9])],
  ['54-["e"]'],
  ['50-["e"]'],
  [new Uint8Array([0])],
);

const anyText = fc.oneof(validText, mutated, randomText);
const frameSequence = fc
  .array(
    fc.oneof(
      anyText.map((s) => [s] as RawData[]),
      binaryFrames,
    ),
    { maxLength: 6 },
  )
  .map((groups) => groups.flat());

describe("text packet decoding matches socket.io-parser 4.2.7", () => {
  test("single frames: valid, mutated and random text decode to the same packet or the same error", () => {
    fc.assert(
      fc.property(anyText, (s) => {
        expect(runOurs([s])).toEqual(runReference([s]));
      }),
      { numRuns: RUNS },
    );
  });

  test("frame sequences mixing binary reassembly with text keep the same state machine", () => {
    fc.assert(
      fc.property(frameSequence, (frames) => {
        expect(runOurs(frames)).toEqual(runReference(frames));
      }),
      { numRuns: RUNS },
    );
  });

  test("known quirks are kept: white space in ack ids, empty payloads, reserved names", () => {
    for (const s of [
      '2 1["a"]',
      '21 2["a"]',
      "2/x",
      "2/x,",
      "2",
      "3/n,5",
      "1/n,",
      '1""',
      '2["connect"]',
      '4/a,"e"',
      "3 ",
      "0\u00a0{}",
    ]) {
      expect(runOurs([s])).toEqual(runReference([s]));
    }
    expect(decodeTextPacket('22 ["a"]')).toEqual({ type: 2, nsp: "/", id: 2, data: ["a"] } as Packet);
    expect(decodeTextPacket('51-["a"]')).toBeUndefined();
    expect(() => decodeTextPacket('2["disconnect"]')).toThrow("invalid payload");
  });
});

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

const leaf = fc.oneof(
  fc.jsonValue({ maxDepth: 1 }),
  fc.constant(undefined),
  fc.uint8Array({ maxLength: 3 }),
  fc.constant(Buffer.from([7, 8])),
  fc.constant(new ArrayBuffer(2)),
  fc.date({ noInvalidDate: true }),
  fc.constant(new Point(1, 2)),
  fc.constant({ toJSON: () => ({ b: new Uint8Array([5]) }) }),
  fc.constant({ toJSON: () => "plain" }),
  fc.constant(Object.assign(Object.create(null), { a: 1 })),
);
const encodeData = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    leaf,
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie("value"), { maxKeys: 3 }),
  ),
})).value;

const anyPacket = fc.record(
  {
    type: fc.integer({ min: 0, max: 6 }),
    nsp: fc.oneof(fc.constant("/"), fc.constant(""), fc.string({ maxLength: 4 })),
    id: fc.oneof(fc.nat(), fc.constant(null)),
    data: fc.oneof(encodeData, fc.array(encodeData, { maxLength: 3 })),
  },
  { requiredKeys: ["type", "nsp"] },
);

function bytesOf(frames: unknown[]): unknown[] {
  return frames.map((f) =>
    typeof f === "string"
      ? f
      : [
          ...new Uint8Array(
            ArrayBuffer.isView(f)
              ? f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength)
              : (f as ArrayBuffer),
          ),
        ],
  );
}

describe("text packet encoding matches socket.io-parser 4.2.7", () => {
  test("random packets (with and without binary, toJSON, class instances) encode to the same frames", () => {
    const reference = new Encoder();
    fc.assert(
      fc.property(anyPacket, (p) => {
        const packet = p as Packet;
        const ours = bytesOf(encodePacket(packet));
        const theirs = bytesOf(reference.encode({ ...packet }));
        expect(ours).toEqual(theirs);
      }),
      { numRuns: RUNS },
    );
  });

  test("the fast path declines packets that may hold binary, and encodes plain ones", () => {
    expect(encodeTextPacket({ type: 2, nsp: "/", data: ["e", { a: [1, "x"] }], id: 3 })).toBe(
      '23["e",{"a":[1,"x"]}]',
    );
    expect(encodeTextPacket({ type: 3, nsp: "/c", data: [new Uint8Array([1])], id: 1 })).toBeUndefined();
    expect(encodeTextPacket({ type: 2, nsp: "/", data: ["e", new Date(0)] })).toBeUndefined();
    expect(encodeTextPacket({ type: 5, nsp: "/", data: ["e"] })).toBeUndefined();
  });
});
