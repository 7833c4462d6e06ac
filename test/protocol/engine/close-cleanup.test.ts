/**
 * Every way a session ends releases what it held: its heartbeat/close timer, its upgrade timer, its
 * place in the engine's session map and its topic memberships (polling sets and Bun's native ones).
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { EngineSocket } from "../../../protocol/engine/index.ts";
import {
  get,
  handshake,
  nextClose,
  nextConnection,
  post,
  startEngine,
  type TestEngine,
  WsClient,
} from "./helpers.ts";

const TOPIC = "cleanup-room";

/**
 * The session's deadlines, read through its internal fields: a leak check has to look inside. Its
 * heartbeat/close deadline is armed in a shared timer list (`timerList` set) or not (null); an
 * upgrade probe and its timer are `upgrade` (null when none).
 */
function timersOf(socket: EngineSocket): { timerList: unknown; upgrade: unknown } {
  return socket as unknown as { timerList: unknown; upgrade: unknown };
}

function expectReleased(t: TestEngine, socket: EngineSocket): void {
  expect(socket.state).toBe("closed");
  expect(timersOf(socket).timerList).toBeNull();
  expect(timersOf(socket).upgrade).toBeNull();
  expect(t.engine.clients.has(socket.id)).toBe(false);
  expect(t.engine.subscriberCount(TOPIC)).toBe(0);
}

async function openPolling(t: TestEngine) {
  const connected = nextConnection(t.engine);
  const { sid } = await handshake(t);
  const socket = await connected;
  socket.subscribe(TOPIC);
  return {
    socket,
    url: t.url({ transport: "polling", sid }),
    wsUrl: t.url({ transport: "websocket", sid }, "ws"),
  };
}

async function openWebSocket(t: TestEngine) {
  const connected = nextConnection(t.engine);
  const ws = new WsClient(t.url({ transport: "websocket" }, "ws"));
  await ws.next(); // open packet
  const socket = await connected;
  socket.subscribe(TOPIC);
  return { socket, ws };
}

async function confirmProbe(ws: WsClient, url: string): Promise<void> {
  await ws.opened;
  ws.send("2probe");
  expect(await ws.next()).toBe("3probe");
  expect(await (await get(url)).text()).toBe("6");
}

describe("engine close paths release timers and topics", () => {
  const t = startEngine();
  afterAll(() => t.close());

  test("polling: socket.close() with a queue (two polls)", async () => {
    const { socket, url } = await openPolling(t);
    const closed = nextClose(socket);
    socket.send("x");
    socket.close();
    expect(t.engine.subscriberCount(TOPIC)).toBe(0);
    expect(await (await get(url)).text()).toBe("4x");
    expect(await (await get(url)).text()).toBe("6\x1e1");
    await closed;
    expectReleased(t, socket);
  });

  test("polling: transport error (overlapping GET) and the client's close packet", async () => {
    const a = await openPolling(t);
    const closedA = nextClose(a.socket);
    const first = get(a.url);
    await Bun.sleep(20);
    expect((await get(a.url)).status).toBe(400);
    expect(await (await first).text()).toBe("1");
    expect((await closedA).reason).toBe("transport error");
    expectReleased(t, a.socket);

    const b = await openPolling(t);
    const closedB = nextClose(b.socket);
    await post(b.url, "1");
    expect((await closedB).reason).toBe("transport close");
    expectReleased(t, b.socket);
  });

  test("websocket: socket.close() and the client closing", async () => {
    const a = await openWebSocket(t);
    const closedA = nextClose(a.socket);
    a.socket.close();
    await a.ws.waitClosed();
    await closedA;
    expectReleased(t, a.socket);

    const b = await openWebSocket(t);
    const closedB = nextClose(b.socket);
    b.ws.close();
    expect((await closedB).reason).toBe("transport close");
    expectReleased(t, b.socket);
  });

  test("upgraded: topics moved to native subscriptions are gone once the websocket closes", async () => {
    const { socket, url, wsUrl } = await openPolling(t);
    const ws = new WsClient(wsUrl);
    await confirmProbe(ws, url);
    const upgraded = new Promise<void>((resolve) => socket.once("upgrade", () => resolve()));
    ws.send("5");
    await upgraded;
    expect(t.engine.subscriberCount(TOPIC)).toBe(1);
    const closed = nextClose(socket);
    ws.close();
    await closed;
    expectReleased(t, socket);
  });

  test("mid-upgrade: socket.close(), then the client's 5 or the client dropping the probe", async () => {
    const a = await openPolling(t);
    const wsA = new WsClient(a.wsUrl);
    await confirmProbe(wsA, a.url);
    const closedA = nextClose(a.socket);
    a.socket.close();
    wsA.send("5");
    await closedA;
    await wsA.waitClosed();
    expectReleased(t, a.socket);

    const b = await openPolling(t);
    const wsB = new WsClient(b.wsUrl);
    await confirmProbe(wsB, b.url);
    const closedB = nextClose(b.socket);
    b.socket.close();
    wsB.close();
    await closedB;
    expectReleased(t, b.socket);
  });
});

describe("engine close paths on timers and shutdown", () => {
  test("ping timeout and engine.close() release every session", async () => {
    const t = startEngine({ pingInterval: 50, pingTimeout: 100 });
    try {
      const silent = await openWebSocket(t);
      const timedOut = nextClose(silent.socket, 2000);
      expect((await timedOut).reason).toBe("ping timeout");
      expectReleased(t, silent.socket);

      const polling = await openPolling(t);
      const ws = await openWebSocket(t);
      const probing = await openPolling(t);
      const probe = new WsClient(probing.wsUrl);
      await probe.opened;
      const closes = [polling.socket, ws.socket, probing.socket].map((s) => nextClose(s));
      await t.engine.close();
      for (const { reason } of await Promise.all(closes)) expect(reason).toBe("forced server close");
      for (const s of [polling.socket, ws.socket, probing.socket]) expectReleased(t, s);
      expect(t.engine.clientsCount).toBe(0);
    } finally {
      await t.engine.close();
    }
  });
});
