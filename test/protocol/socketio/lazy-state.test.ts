/**
 * Per-connection state is built on first use (the handshake, acks, flags, catch-all listeners):
 * these check that what users read is still socket.io's, whenever they read it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { Socket } from "../../../protocol/index.ts";
import { Harness, next, TRANSPORTS, withTimeout } from "./support.ts";

const harness = new Harness(TRANSPORTS.websocket, {});
const sockets: WebSocket[] = [];

afterAll(async () => {
  for (const ws of sockets) ws.close();
  await harness.close();
});

/** A bare websocket client with a query and a header; resolves with the server's socket. */
async function connect(auth: string): Promise<Socket> {
  const connection = next<[Socket]>(harness.io, "connection");
  const ws = new WebSocket(
    `ws://127.0.0.1:${harness.port}/socket.io/?EIO=4&transport=websocket&room=42&q=a%20b`,
    {
      headers: { "x-test": "yes", origin: "http://example.test" },
    } as unknown as string[],
  );
  sockets.push(ws);
  ws.onmessage = (e) => {
    if (typeof e.data === "string" && e.data.startsWith("0{")) ws.send(`40${auth}`);
  };
  const [socket] = await withTimeout(connection, "connection");
  return socket;
}

describe("lazy per-connection state", () => {
  test("the handshake read late is socket.io's plain object, built once", async () => {
    const before = Date.now();
    const socket = await connect('{"token":"abc"}');
    await Bun.sleep(20);
    const handshake = socket.handshake;
    expect(socket.handshake).toBe(handshake);
    expect(Object.keys(handshake)).toEqual([
      "headers",
      "address",
      "xdomain",
      "secure",
      "url",
      "query",
      "time",
      "issued",
      "auth",
    ]);
    expect(handshake.auth).toEqual({ token: "abc" });
    expect(handshake.query).toEqual({ EIO: "4", transport: "websocket", room: "42", q: "a b" });
    expect(handshake.headers["x-test"]).toBe("yes");
    expect(handshake.xdomain).toBe(true);
    expect(handshake.secure).toBe(false);
    expect(handshake.url).toBe("/socket.io/?EIO=4&transport=websocket&room=42&q=a%20b");
    expect(handshake.address).toContain("127.0.0.1");
    // The connection time, not the time of the first read.
    expect(handshake.issued).toBeGreaterThanOrEqual(before);
    expect(handshake.issued).toBeLessThan(Date.now() - 10);
    expect(handshake.time).toBe(new Date(handshake.issued).toString());
    // A spread (as cluster adapters serialize it) keeps every field.
    expect({ ...handshake }).toEqual(JSON.parse(JSON.stringify(handshake)));
    // The engine's request behind it is still a Headers and a URLSearchParams.
    expect(socket.conn.request.headers.get("x-test")).toBe("yes");
    expect(socket.conn.request.query.get("room")).toBe("42");
    // Built once: later reads (and changes) see the same objects.
    expect(socket.conn.request.headers).toBe(socket.conn.request.headers);
    expect(socket.conn.request.query).toBe(socket.conn.request.query);
  });

  test("an idle socket keeps no request summary and no empty auth until its handshake is read", async () => {
    const socket = await connect("");
    // Private fields: what an idle connection holds has to be looked at from inside.
    const inside = socket as unknown as { auth: unknown; client: { summary: unknown } };
    expect(inside.auth).toBeUndefined();
    expect(inside.client.summary).toBeNull();
    await Bun.sleep(20);
    expect(socket.handshake.auth).toEqual({});
    expect(socket.handshake.headers["x-test"]).toBe("yes");
    expect(socket.request.headers["x-test"]).toBe("yes");
    expect(inside.client.summary).not.toBeNull();
  });

  test("an idle session and socket keep to the fields that fit their memory cells", async () => {
    const socket = await connect("");
    // Bun allocates objects in size classes: an EngineSession of up to 18 fields takes 160 B (22
    // took 224); a Socket of 14 own fields plus the EventEmitter's 5 keys takes one class less
    // than 18 did (BENCHMARKS.md, memory per idle websocket). A new field belongs in one of the
    // lazily built objects (`upgrade`, `buffer`, `hooks`, `connecting`) unless every connection needs it.
    expect(Reflect.ownKeys(socket.conn).length).toBeLessThanOrEqual(18);
    expect(Reflect.ownKeys(socket).length).toBeLessThanOrEqual(19);
  });

  test("socket.data starts as one empty object and can be replaced", async () => {
    const socket = await connect("");
    expect(socket.data).toEqual({});
    expect(socket.data).toBe(socket.data);
    (socket.data as Record<string, unknown>).a = 1;
    expect(socket.data).toEqual({ a: 1 });
    socket.data = { b: 2 };
    expect(socket.data).toEqual({ b: 2 });
  });

  test("acks, flags and catch-all listeners work from a fresh socket", async () => {
    const socket = await connect("");
    expect(socket.acks.size).toBe(0);
    expect(socket.listenersAny()).toEqual([]);
    expect(socket.listenersAnyOutgoing()).toEqual([]);
    const outgoing: string[] = [];
    const watcher = (event: string) => outgoing.push(event);
    socket.onAnyOutgoing(watcher);
    socket.timeout(5).emit("hello", () => {});
    expect(socket.acks.size).toBe(1);
    expect(outgoing).toEqual(["hello"]);
    socket.offAnyOutgoing(watcher);
    expect(socket.listenersAnyOutgoing()).toEqual([]);
    // The timeout flag applied to that emit only.
    await Bun.sleep(30);
    expect(socket.acks.size).toBe(0);
    socket.emit("again", () => {});
    await Bun.sleep(30);
    expect(socket.acks.size).toBe(1);
  });
});
