/**
 * The Client against an in-memory engine session: how packets are handed to the engine (a binary
 * packet and its attachments in one sendMany), volatile drops, and the connect timeout.
 */
import { afterAll, expect, test } from "bun:test";
import { Client, Server, type Socket } from "../../../protocol/index.ts";
import { FakeEngineSocket } from "./fake-engine-socket.ts";
import { sleep } from "./support.ts";

const io = new Server({ connectTimeout: 50 });
afterAll(async () => {
  await io.close();
});

function connect(): { conn: FakeEngineSocket; socket: Socket } {
  const conn = new FakeEngineSocket();
  let socket: Socket | undefined;
  io.once("connection", (s) => {
    socket = s;
  });
  new Client(io, conn);
  conn.receive("0");
  if (!socket) throw new Error("not connected");
  conn.calls.length = 0;
  return { conn, socket };
}

test("a binary packet and its attachments go to the engine in one sendMany call", () => {
  const { conn, socket } = connect();
  socket.emit("files", new Uint8Array([1]), { b: Buffer.from([2, 3]) });
  expect(conn.calls.length).toBe(1);
  const [frames] = conn.calls;
  expect(frames?.[0]).toBe('52-["files",{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1}}]');
  expect(frames?.slice(1).map((f) => [...(f as Uint8Array)])).toEqual([[1], [2, 3]]);
});

test("a volatile packet is dropped while the session cannot take it; a normal one is queued", () => {
  const { conn, socket } = connect();
  conn.writable = false;
  socket.volatile.emit("typing");
  socket.emit("message", "kept");
  io.volatile.emit("typing-broadcast");
  expect(conn.calls).toEqual([['2["message","kept"]']]);
  conn.writable = true;
  socket.volatile.emit("typing");
  expect(conn.calls.at(-1)).toEqual(['2["typing"]']);
});

test("the flags of one emit do not leak into the next", () => {
  const { conn, socket } = connect();
  conn.writable = false;
  socket.volatile.emit("dropped");
  socket.emit("after");
  expect(conn.calls).toEqual([['2["after"]']]);
});

test("a session that joins no namespace within connectTimeout is closed", async () => {
  const conn = new FakeEngineSocket();
  new Client(io, conn);
  await sleep(120);
  expect(conn.state).toBe("closed");
  expect(conn.closeReason).toBe("forced server close");
});

test("a session that joined a namespace is not closed by the connect timeout", async () => {
  const { conn } = connect();
  await sleep(120);
  expect(conn.state).toBe("open");
  conn.close("transport close");
});
