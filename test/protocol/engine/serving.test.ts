import { afterAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { Engine } from "../../../protocol/engine/index.ts";
import {
  get,
  handshake,
  nextClose,
  nextConnection,
  parseOpen,
  startEngine,
  WsClient,
  withTimeout,
} from "./helpers.ts";

describe("engine.handler() inside a shared Bun.serve", () => {
  const engine = new Engine({ path: "/socket.io" });
  const app = new Hono();
  app.get("/api/health", (c) => c.json({ ok: true }));
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    ...engine.handler((req, srv) => app.fetch(req, srv)),
  });
  const base = `http://127.0.0.1:${server.port}`;
  afterAll(async () => {
    await engine.close();
    await server.stop(true);
  });

  test("the engine path goes to the engine, everything else to the fallback (a Hono app)", async () => {
    const health = await get(`${base}/api/health`);
    expect(await health.json()).toEqual({ ok: true });
    const res = await get(`${base}/socket.io/?EIO=4&transport=polling`);
    expect(parseOpen(await res.text()).upgrades).toEqual(["websocket"]);
    const missing = await get(`${base}/nothing`);
    expect(missing.status).toBe(404);
  });

  test("websockets work through the composed handler", async () => {
    const connected = nextConnection(engine);
    const ws = new WsClient(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
    await ws.next();
    const socket = await connected;
    socket.on("message", (d) => socket.send(d));
    ws.send("4echo");
    expect(await ws.next()).toBe("4echo");
    ws.close();
  });

  test("close() does not stop a server it did not start", async () => {
    const other = new Engine();
    const shared = Bun.serve({ port: 0, hostname: "127.0.0.1", ...other.handler() });
    await other.close();
    const res = await get(`http://127.0.0.1:${shared.port}/engine.io/?EIO=4&transport=polling`);
    expect(res.status).toBe(200);
    await shared.stop(true);
  });
});

describe("engine.close()", () => {
  test("closes every session with 'forced server close' (or the given reason) and stops the server listen() started", async () => {
    const t = startEngine();
    const connected = nextConnection(t.engine);
    const ws = new WsClient(t.url({ transport: "websocket" }, "ws"));
    await ws.next();
    const wsSocket = await connected;
    const pollConnected = nextConnection(t.engine);
    const { sid } = await handshake(t);
    const pollSocket = await pollConnected;
    const pending = get(t.url({ transport: "polling", sid }));
    await Bun.sleep(20);
    const wsClosed = nextClose(wsSocket);
    const pollClosed = nextClose(pollSocket);
    await t.engine.close();
    expect((await wsClosed).reason).toBe("forced server close");
    expect((await pollClosed).reason).toBe("forced server close");
    expect(await (await pending).text()).toBe("1");
    await ws.waitClosed();
    expect(t.engine.clientsCount).toBe(0);
    const refused = await fetch(t.url({ transport: "polling" })).then(
      () => "answered",
      () => "refused",
    );
    expect(refused).toBe("refused");
  });

  test("a shutdown reason is passed to every session", async () => {
    const t = startEngine();
    const connected = nextConnection(t.engine);
    await handshake(t);
    const socket = await connected;
    const closed = nextClose(socket);
    await t.engine.close("server shutting down");
    expect((await closed).reason).toBe("server shutting down");
  });

  test("a listener that throws does not break the engine", async () => {
    const t = startEngine();
    t.engine.on("connection", () => {
      throw new Error("listener bug");
    });
    const first = await handshake(t);
    const second = await handshake(t);
    expect(first.sid).not.toBe(second.sid);
    await withTimeout(t.close(), "close");
  });
});
