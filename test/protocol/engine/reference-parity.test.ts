/**
 * Behaviours where engine.io 6.6 answers in a particular way that clients and socket.io's own test
 * suites rely on, checked byte for byte: a polling close while a GET waits, a second websocket for
 * a session that already has one, and an upgrade with another protocol revision (6.6.13).
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { ConnectionErrorEvent, EngineSocket } from "../../../protocol/engine/index.ts";
import {
  get,
  handshake,
  nextClose,
  nextConnection,
  post,
  startEngine,
  type TestEngine,
  WsClient,
  withTimeout,
} from "./helpers.ts";
import { afterHead, headComplete, rawUpgrade, statusOf, WS_CLOSE_FRAME } from "./raw-tcp.ts";

async function openPolling(t: TestEngine): Promise<{ sid: string; socket: EngineSocket }> {
  const connected = nextConnection(t.engine);
  const { sid } = await handshake(t);
  return { sid, socket: await connected };
}

/** A polling session upgraded to websocket by hand; returns the websocket that carries it. */
async function openUpgraded(t: TestEngine): Promise<{ sid: string; socket: EngineSocket; ws: WsClient }> {
  const { sid, socket } = await openPolling(t);
  const ws = new WsClient(t.url({ transport: "websocket", sid }, "ws"));
  await ws.opened;
  ws.send("2probe");
  expect(await ws.next()).toBe("3probe");
  const upgraded = withTimeout(new Promise<void>((r) => socket.once("upgrade", () => r())), "upgrade");
  ws.send("5");
  await upgraded;
  return { sid, socket, ws };
}

describe("engine.io parity: polling close", () => {
  const t = startEngine({ pingInterval: 10_000, pingTimeout: 10_000 });
  afterAll(() => t.close());

  test("a POST carrying a close packet answers the waiting GET with a noop '6' and closes the session", async () => {
    const { sid, socket } = await openPolling(t);
    const closed = nextClose(socket);
    const url = t.url({ transport: "polling", sid });
    const waiting = get(url);
    await Bun.sleep(30);
    const res = await post(url, "1");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok");
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe("6");
    expect((await closed).reason).toBe("transport close");
    expect(t.engine.clients.has(sid)).toBe(false);
    // The session is gone for good.
    expect((await get(url)).status).toBe(400);
  });

  test("packets before the close packet in the same POST are delivered first", async () => {
    const { sid, socket } = await openPolling(t);
    const got: unknown[] = [];
    socket.on("message", (d) => got.push(d));
    const closed = nextClose(socket);
    const url = t.url({ transport: "polling", sid });
    const waiting = get(url);
    await Bun.sleep(30);
    expect((await post(url, "4last words\x1e1")).status).toBe(200);
    expect(await (await waiting).text()).toBe("6");
    await closed;
    expect(got).toEqual(["last words"]);
  });
});

describe("engine.io parity: a second websocket for a session that has one", () => {
  const t = startEngine({ pingInterval: 10_000, pingTimeout: 10_000, upgradeTimeout: 2000 });
  afterAll(() => t.close());

  test("is accepted with 101 and closed at once (raw bytes); the upgraded session carries on", async () => {
    const { sid, socket, ws } = await openUpgraded(t);
    const conn = await rawUpgrade(t.url({ transport: "websocket", sid }, "ws"));
    try {
      const bytes = await conn.until(
        (b) => headComplete(b) && afterHead(b).length >= 2,
        "the 101 and a close frame",
      );
      expect(statusOf(bytes)).toBe(101);
      expect(afterHead(bytes)[0]).toBe(WS_CLOSE_FRAME);
      await conn.waitClosed();
    } finally {
      conn.destroy();
    }
    expect(socket.state).toBe("open");
    expect(socket.transportName).toBe("websocket");
    expect(t.engine.clients.get(sid)).toBe(socket as never);
    socket.send("still mine");
    expect(await ws.nextMessage()).toBe("4still mine");
    const got: unknown[] = [];
    socket.on("message", (d) => got.push(d));
    ws.send("4and back");
    await withTimeout(
      (async () => {
        while (got.length === 0) await Bun.sleep(10);
      })(),
      "a message over the first websocket",
    );
    expect(got).toEqual(["and back"]);
    ws.close();
  });

  test("a real websocket client sees it open and then close, without an error", async () => {
    const { sid, socket, ws } = await openUpgraded(t);
    const second = new WsClient(t.url({ transport: "websocket", sid }, "ws"));
    await second.opened;
    await second.waitClosed();
    expect(socket.state).toBe("open");
    socket.send("ping-through");
    expect(await ws.nextMessage()).toBe("4ping-through");
    ws.close();
  });

  test("a second websocket while the first is still probing is closed too; the probe completes", async () => {
    const { sid, socket } = await openPolling(t);
    const first = new WsClient(t.url({ transport: "websocket", sid }, "ws"));
    await first.opened;
    const second = new WsClient(t.url({ transport: "websocket", sid }, "ws"));
    await second.opened;
    await second.waitClosed();
    first.send("2probe");
    expect(await first.next()).toBe("3probe");
    const upgraded = withTimeout(new Promise<void>((r) => socket.once("upgrade", () => r())), "upgrade");
    first.send("5");
    await upgraded;
    expect(socket.transportName).toBe("websocket");
    first.close();
  });
});

describe("engine.io 6.6.13 parity: an upgrade with another protocol revision", () => {
  const events: ConnectionErrorEvent[] = [];
  const t = startEngine({ pingInterval: 10_000, pingTimeout: 10_000 });
  t.engine.on("connection_error", (e) => events.push(e));
  afterAll(() => t.close());

  test("is refused 400 'Bad request' as PROTOCOL_MISMATCH (raw bytes); the polling session is untouched", async () => {
    const { sid, socket } = await openPolling(t);
    const conn = await rawUpgrade(t.url({ transport: "websocket", sid, EIO: "3" }, "ws"));
    try {
      const bytes = await conn.until((b) => afterHead(b).toString().includes("}"), "the refusal");
      expect(statusOf(bytes)).toBe(400);
      expect(JSON.parse(afterHead(bytes).toString())).toEqual({ code: 3, message: "Bad request" });
    } finally {
      conn.destroy();
    }
    expect(events.at(-1)!.context).toEqual({ name: "PROTOCOL_MISMATCH", protocol: 3, previousProtocol: 4 });
    expect(socket.state).toBe("open");
    expect(socket.transportName).toBe("polling");
  });
});
