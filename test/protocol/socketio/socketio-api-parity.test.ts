/**
 * The socket.io 4.8 methods a port reaches for beyond the core (docs/socketio-compat.md): the
 * option getters/setters on the Server, `write`, `allSockets`, `close(fn)`, the EventEmitter
 * methods proxied to the main namespace, `socket.request`, and `io.adapter(factory)` rebuilding the
 * adapters of existing namespaces.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createServer } from "node:http";
import {
  Adapter,
  type DefaultEventsMap,
  RemoteSocket,
  Server,
  type Socket,
} from "../../../protocol/index.ts";
import { Harness, next, TRANSPORTS } from "./support.ts";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe("Server option accessors", () => {
  test("serveClient(), path(), connectTimeout() read and set as socket.io's", async () => {
    h = new Harness(TRANSPORTS.websocket);
    expect(h.io.serveClient()).toBe(true);
    expect(h.io.path()).toBe("/socket.io");
    expect(h.io.connectTimeout()).toBe(45_000);
    expect(h.io.connectTimeout(1000)).toBe(h.io);
    expect(h.io.connectTimeout()).toBe(1000);
    const file = `${h.url}/socket.io/socket.io.min.js`;
    expect((await fetch(file)).status).toBe(200);
    expect(h.io.serveClient(false)).toBe(h.io);
    expect((await fetch(file)).status).toBe(400);
    h.io.serveClient(true);
    expect((await fetch(file)).status).toBe(200);
  });

  test("adapter(factory) gives every namespace, existing ones too, an adapter built by it", () => {
    h = new Harness(TRANSPORTS.websocket);
    const chat = h.io.of("/chat");
    class Marked extends Adapter {}
    expect(h.io.adapter(Marked)).toBe(h.io);
    expect(h.io.adapter()).toBe(Marked);
    expect(h.io.sockets.adapter).toBeInstanceOf(Marked);
    expect(chat.adapter).toBeInstanceOf(Marked);
    expect(h.io.of("/later").adapter).toBeInstanceOf(Marked);
  });

  test("close(fn) calls fn once the server is closed", async () => {
    h = new Harness(TRANSPORTS.websocket);
    let called = 0;
    await h.io.close(() => called++);
    expect(called).toBe(1);
  });
});

describe("aliases and deprecated helpers", () => {
  test("write is send on the server, a namespace and a socket", async () => {
    h = new Harness(TRANSPORTS.websocket);
    const connection = next<[Socket]>(h.io, "connection");
    const client = await h.connected();
    const [socket] = await connection;
    const messages: unknown[] = [];
    client.on("message", (m) => messages.push(m));
    const three = new Promise<void>((resolve) =>
      client.on("message", () => messages.length === 3 && resolve()),
    );
    h.io.write("server");
    h.io.of("/").write("namespace");
    socket.write("socket");
    await three;
    expect(messages.sort()).toEqual(["namespace", "server", "socket"]);
  });

  test("allSockets resolves with the socket ids of the server, a namespace or a room", async () => {
    h = new Harness(TRANSPORTS.websocket);
    const [a, b] = await Promise.all([h.connected(), h.connected()]);
    h.serverSocket(a).join("room");
    expect(await h.io.allSockets()).toEqual(new Set([a.id!, b.id!]));
    expect(await h.io.of("/").allSockets()).toEqual(new Set([a.id!, b.id!]));
    expect(await h.io.in("room").allSockets()).toEqual(new Set([a.id!]));
  });
});

describe("EventEmitter methods on the server", () => {
  test("they act on the main namespace's listeners, as socket.io proxies them", () => {
    h = new Harness(TRANSPORTS.websocket);
    const listener = () => {};
    h.io.addListener("connection", listener);
    expect(h.io.listenerCount("connection")).toBe(1);
    expect(h.io.listeners("connection")).toEqual([listener]);
    expect(h.io.sockets.listenerCount("connection")).toBe(1);
    expect(h.io.eventNames()).toContain("connection");
    h.io.prependListener("connection", () => {});
    expect(h.io.rawListeners("connection")).toHaveLength(2);
    h.io.removeListener("connection", listener);
    expect(h.io.listenerCount("connection")).toBe(1);
    h.io.removeAllListeners("connection");
    expect(h.io.listenerCount("connection")).toBe(0);
    h.io.setMaxListeners(42);
    expect(h.io.getMaxListeners()).toBe(42);
  });
});

describe("socket.request", () => {
  test("carries the handshake request's headers, url and remote address, as IncomingMessage does", async () => {
    h = new Harness(TRANSPORTS.websocket);
    const connection = next<[Socket]>(h.io, "connection");
    await h.connected("/", { extraHeaders: { "x-test": "yes" } });
    const [socket] = await connection;
    expect(socket.request.headers["x-test"]).toBe("yes");
    expect(socket.request.url.startsWith("/socket.io/?EIO=4")).toBe(true);
    expect(socket.request.method).toBe("GET");
    expect(socket.request.connection.remoteAddress).toContain("127.0.0.1");
  });

  test("_query holds the handshake query as engine.io sets it, which socket.io middlewares read", async () => {
    h = new Harness(TRANSPORTS.polling);
    h.io.use((socket, next) => {
      if (socket.request._query.fail) return next(new Error("refused by query"));
      next();
    });
    const connection = next<[Socket]>(h.io, "connection");
    await h.connected("/", { query: { room: "lobby" } });
    const [socket] = await connection;
    expect(socket.request._query.room).toBe("lobby");
    expect(socket.request._query.EIO).toBe("4");
    expect(socket.request._query.transport).toBe("polling");
    const refused = h.client("/", { query: { fail: "1" } });
    const [err] = await next<[Error]>(refused, "connect_error");
    expect(err.message).toBe("refused by query");
  });
});

describe("RemoteSocket", () => {
  test("timeout(ms).emitWithAck resolves with the socket's one answer, as socket.io's", async () => {
    h = new Harness(TRANSPORTS.websocket);
    const client = await h.connected();
    client.on("ask", (ack: (answer: string) => void) => ack("yes"));
    const socket = h.serverSocket(client);
    // The cluster adapter builds it from another node's report; the same operations go through the adapter.
    const remote = new RemoteSocket<DefaultEventsMap, unknown>(
      h.io.sockets.adapter,
      { id: socket.id, handshake: socket.handshake, rooms: [...socket.rooms], data: socket.data },
      () => true,
    );
    expect(await remote.timeout(2000).emitWithAck("ask")).toBe("yes");
  });
});

describe("constructor forms", () => {
  test("new Server(port, opts) listens on the port, as socket.io's", async () => {
    const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const port = probe.port ?? 0;
    await probe.stop(true);
    const io = new Server(port, { serveClient: true });
    try {
      const res = await fetch(`http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`);
      expect(res.status).toBe(200);
      expect((await res.text()).startsWith("0{")).toBe(true);
    } finally {
      await io.close();
    }
  });

  test("a Node http server is refused with a message that names the Bun way", () => {
    const nodeServer = createServer();
    expect(() => new Server(nodeServer as never)).toThrow(/io\.handler/);
  });
});
