/**
 * Property test of the decoder glue: whatever frames a client sends (random text, random bytes,
 * valid packets with random mutations, in any order), nothing throws out of the Socket.IO client
 * layer, a bad connection is closed, and the server keeps serving new connections.
 */
import { afterAll, expect, test } from "bun:test";
import fc from "fast-check";
import { Client, Server } from "../../../protocol/index.ts";
import { FakeEngineSocket } from "./fake-engine-socket.ts";

const io = new Server({ connectTimeout: 60_000 });
io.of("/chat");
io.on("connection", (socket) => {
  socket.join("room");
  socket.on("echo", (...args: unknown[]) => {
    const ack = args.at(-1);
    if (typeof ack === "function") ack(...args.slice(0, -1));
  });
});
io.of(/^\/dyn-\d$/);

afterAll(async () => {
  await io.close();
});

const VALID = [
  "0",
  '0{"token":"x"}',
  "0/chat,",
  "0/nope,",
  '2["echo",1,"a",{"b":[true,null]}]',
  '27["echo",1]',
  '2/chat,3["echo"]',
  '30["x"]',
  "1",
  '51-["echo",{"_placeholder":true,"num":0}]',
  '52-3["echo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
  '61-0[{"_placeholder":true,"num":0}]',
  "0/dyn-1,",
  '4{"message":"x"}',
];

const mutated = fc
  .tuple(
    fc.constantFrom(...VALID),
    fc.array(
      fc.tuple(fc.nat(), fc.constantFrom("insert", "delete", "replace"), fc.string({ maxLength: 2 })),
      {
        maxLength: 3,
      },
    ),
  )
  .map(([packet, edits]) => {
    let s = packet;
    for (const [at, kind, text] of edits) {
      const i = s.length === 0 ? 0 : at % s.length;
      if (kind === "insert") s = s.slice(0, i) + text + s.slice(i);
      else if (kind === "delete") s = s.slice(0, i) + s.slice(i + 1);
      else s = s.slice(0, i) + text + s.slice(i + 1);
    }
    return s;
  });

const frame = fc.oneof(
  fc.constantFrom(...VALID),
  mutated,
  fc.string({ maxLength: 40 }),
  fc.uint8Array({ maxLength: 16 }),
);

function connectWorks(): boolean {
  const conn = new FakeEngineSocket();
  new Client(io, conn);
  conn.receive("0");
  const ok = typeof conn.sent[0] === "string" && conn.sent[0].startsWith('0{"sid":"');
  conn.close("transport close");
  return ok;
}

test("random and mutated frames never throw out of the client, and the server keeps serving", () => {
  fc.assert(
    fc.property(fc.array(frame, { minLength: 1, maxLength: 12 }), (frames) => {
      const conn = new FakeEngineSocket();
      new Client(io, conn);
      for (const data of frames) conn.receive(data);
      conn.close("transport close");
      return connectWorks();
    }),
    { numRuns: 600 },
  );
  // Nothing leaked: every fake connection was closed, so no socket stays connected.
  expect([...io._nsps.values()].reduce((n, nsp) => n + nsp.sockets.size, 0)).toBe(0);
});

test("a connection sending a malformed packet is closed as a parse error", () => {
  fc.assert(
    fc.property(fc.constantFrom('2["x"', "9", '2{"a":1}', '511-["x"]', '2["connect"]'), (bad) => {
      const conn = new FakeEngineSocket();
      new Client(io, conn);
      conn.receive("0");
      conn.receive(bad);
      return conn.state === "closed" && conn.closeReason === "parse error";
    }),
  );
});
