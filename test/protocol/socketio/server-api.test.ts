/**
 * Server-level API that does not depend on the transport: namespaces' life cycle, single-node
 * cluster operations, the handler shared with another app, and the echo example.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { io as connectClient } from "socket.io-client";
import { Adapter, type Namespace, Server } from "../../../protocol/index.ts";
import { Harness, next, TRANSPORTS, WAIT_MS, withTimeout } from "./support.ts";

const harnesses: Harness[] = [];
const start = (opts = {}) => {
  const h = new Harness(TRANSPORTS.websocket, opts);
  harnesses.push(h);
  return h;
};
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});

describe("namespaces", () => {
  test("io.of() announces new namespaces and returns the same one for the same name", () => {
    const h = start();
    const created: string[] = [];
    h.io.on("new_namespace", (nsp: Namespace) => created.push(nsp.name));
    const chat = h.io.of("/chat");
    expect(h.io.of("chat")).toBe(chat);
    expect(created).toEqual(["/chat"]);
  });

  test("io.of(name) on a name a RegExp pattern matches creates its child, with the pattern's listeners", async () => {
    const h = start();
    h.io.of(/^\/room-\d+$/).on("connection", (socket) => socket.emit("hi", socket.nsp.name));
    const child = h.io.of("/room-5");
    expect(h.io.of(/^\/room-\d+$/)).not.toBe(child);
    expect(h.io._nsps.get("/room-5")).toBe(child);
    const client = h.client("/room-5");
    expect(await next(client, "hi")).toEqual(["/room-5"]);
  });

  test("with cleanupEmptyChildNamespaces a dynamic child disappears with its last socket", async () => {
    const h = start({ cleanupEmptyChildNamespaces: true });
    h.io.of(/^\/room-\d+$/);
    const client = await h.connected("/room-1");
    expect(h.io._nsps.has("/room-1")).toBe(true);
    const gone = next(h.serverSocket(client, "/room-1"), "disconnect");
    client.disconnect();
    await gone;
    expect(h.io._nsps.has("/room-1")).toBe(false);
  });

  test("a dynamic child keeps existing by default", async () => {
    const h = start();
    h.io.of(/^\/room-\d+$/);
    const client = await h.connected("/room-2");
    const gone = next(h.serverSocket(client, "/room-2"), "disconnect");
    client.disconnect();
    await gone;
    expect(h.io._nsps.has("/room-2")).toBe(true);
  });

  test("with cleanupEmptyChildNamespaces a dynamic child whose only client a middleware refused disappears", async () => {
    const h = start({ cleanupEmptyChildNamespaces: true });
    h.io.of(/^\/room-\d+$/).use((_socket, next) => next(new Error("not you")));
    const [err] = await next<[Error]>(h.client("/room-3"), "connect_error");
    expect(err.message).toBe("not you");
    await withTimeout(
      (async () => {
        while (h.io._nsps.has("/room-3")) await Bun.sleep(5);
      })(),
      "the refused child namespace to be removed",
    );
  });

  test("with cleanupEmptyChildNamespaces a refused client leaves a child that still has sockets in place", async () => {
    const h = start({ cleanupEmptyChildNamespaces: true });
    let refuse = false;
    h.io.of(/^\/room-\d+$/).use((_socket, next) => next(refuse ? new Error("not you") : undefined));
    await h.connected("/room-4");
    refuse = true;
    await next(h.client("/room-4"), "connect_error");
    expect(h.io._nsps.has("/room-4")).toBe(true);
  });
});

describe("ack errors carry the answers that did arrive", () => {
  test("a broadcast emitWithAck that times out rejects with err.responses, as socket.io's", async () => {
    const h = start();
    const [talker, silent] = await Promise.all([h.connected(), h.connected()]);
    talker!.on("count", (ack: (n: number) => void) => ack(7));
    silent!.on("count", () => {});
    const err = await h.io
      .timeout(300)
      .emitWithAck("count")
      .then(
        () => null,
        (e: Error & { responses?: unknown[] }) => e,
      );
    expect(err?.message).toBe("operation has timed out");
    expect(err?.responses).toEqual([7]);
  });

  test("serverSideEmitWithAck that times out rejects with err.responses (the other nodes that answered)", async () => {
    class HalfAnsweringCluster extends Adapter {
      override serverSideEmit(packet: unknown[]): void {
        const ack = packet.at(-1) as (err: Error | null, responses: unknown[]) => void;
        ack(new Error("timeout reached: only 1 responses received out of 2"), ["node-b"]);
      }
    }
    const h = start({ adapter: HalfAnsweringCluster });
    const err = await h.io.serverSideEmitWithAck("sync").then(
      () => null,
      (e: Error & { responses?: unknown[] }) => e,
    );
    expect(err?.message).toBe("timeout reached: only 1 responses received out of 2");
    expect(err?.responses).toEqual(["node-b"]);
  });
});

describe("single node", () => {
  test("serverSideEmit is a no-op and serverSideEmitWithAck resolves with no responses", async () => {
    const h = start();
    const heard: unknown[] = [];
    h.io.on("sync", (...args: unknown[]) => heard.push(args));
    expect(h.io.serverSideEmit("sync", 1)).toBe(true);
    expect(await h.io.serverSideEmitWithAck("sync", 1)).toEqual([]);
    expect(heard).toEqual([]);
    expect(await h.io.sockets.adapter.serverCount()).toBe(1);
  });

  test("send() emits a 'message' event", async () => {
    const h = start();
    const client = await h.connected();
    const got = next(client, "message");
    h.io.send("hi", 2);
    expect(await got).toEqual(["hi", 2]);
  });
});

describe("embedding", () => {
  test("io.handler(fallback) serves Socket.IO and hands other paths to the app", async () => {
    const io = new Server();
    io.on("connection", (socket) => socket.emit("welcome"));
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      ...io.handler((req) => new Response(`app:${new URL(req.url).pathname}`)),
    });
    const client = connectClient(`http://127.0.0.1:${server.port}`, { forceNew: true, reconnection: false });
    // Listened for at once: the welcome may arrive while the fetch below is in flight.
    const welcome = next(client, "welcome");
    try {
      expect(await (await fetch(`http://127.0.0.1:${server.port}/health`)).text()).toBe("app:/health");
      await welcome;
    } finally {
      client.disconnect();
      await io.close();
      await server.stop(true);
    }
  });

  test("the echo example answers the stock client", async () => {
    const proc = Bun.spawn(["bun", "examples/echo-server.ts"], {
      env: { ...process.env, PORT: "0", LOG_LEVEL: "silent" },
      stdout: "pipe",
      stderr: "inherit",
    });
    try {
      const reader = proc.stdout.getReader();
      const { value } = await withTimeout(reader.read(), "the example to start", 10_000);
      const port = /:(\d+)/.exec(new TextDecoder().decode(value))?.[1];
      expect(port).toBeDefined();
      const client = connectClient(`http://127.0.0.1:${port}`, { forceNew: true, reconnection: false });
      try {
        const echoed = next(client, "hello");
        client.emit("hello", "world", 1);
        expect(await echoed).toEqual(["world", 1]);
        expect(await client.timeout(WAIT_MS).emitWithAck("sum", 1, 2)).toBe(1);
      } finally {
        client.disconnect();
      }
    } finally {
      proc.kill();
      await proc.exited;
    }
  });
});
