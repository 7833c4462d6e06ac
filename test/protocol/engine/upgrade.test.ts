import { afterAll, describe, expect, test } from "bun:test";
import type { EngineSocket, RawData } from "../../../protocol/engine/index.ts";
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

async function openPolling(
  t: TestEngine,
): Promise<{ sid: string; socket: EngineSocket; url: string; wsUrl: string }> {
  const connected = nextConnection(t.engine);
  const { sid } = await handshake(t);
  return {
    sid,
    socket: await connected,
    url: t.url({ transport: "polling", sid }),
    wsUrl: t.url({ transport: "websocket", sid }, "ws"),
  };
}

/** Messages ("4..." packets) of a polling payload, noops skipped. */
function messagesOf(payload: string): string[] {
  return payload
    .split("\x1e")
    .filter((p) => p.startsWith("4"))
    .map((p) => p.slice(1));
}

function expectSequence(got: string[], prefix: string, count: number) {
  expect(got).toEqual(Array.from({ length: count }, (_, i) => `${prefix}${i}`));
}

describe("engine upgrade polling → websocket", () => {
  const t = startEngine({ upgradeTimeout: 300 });
  afterAll(() => t.close());

  test("probe: 2probe → 3probe, the waiting GET gets a noop, then 5 switches and flushes the polling queue over the websocket", async () => {
    const { socket, url, wsUrl } = await openPolling(t);
    const upgraded = new Promise<void>((resolve) => socket.once("upgrade", () => resolve()));
    const pendingGet = get(url);
    await Bun.sleep(20);
    const ws = new WsClient(wsUrl);
    await ws.opened;
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    expect(await (await pendingGet).text()).toBe("6");
    expect(socket.transportName).toBe("polling");
    socket.send("queued-1");
    socket.send(new Uint8Array([7]));
    socket.send("queued-2");
    ws.send("5");
    await upgraded;
    expect(socket.transportName).toBe("websocket");
    expect(await ws.next()).toBe("4queued-1");
    expect(await ws.next()).toEqual(new Uint8Array([7]));
    expect(await ws.next()).toBe("4queued-2");
    socket.send("direct");
    expect(await ws.next()).toBe("4direct");
    const got: RawData[] = [];
    socket.on("message", (d) => got.push(d));
    ws.send("4up");
    await Bun.sleep(30);
    expect(got).toEqual(["up"]);
    // The old transport is gone: polling the session now is a transport mismatch.
    expect((await post(url, "4late")).status).toBe(400);
    ws.close();
  });

  test("no packet is lost, duplicated or reordered in either direction across the switch under a stream", async () => {
    const { socket, url, wsUrl } = await openPolling(t);
    const toClient: string[] = [];
    const toServer: string[] = [];
    socket.on("message", (d) => toServer.push(d as string));
    let s = 0;
    const stream = setInterval(() => socket.send(`s${s++}`), 1);
    let c = 0;
    const until = Date.now() + 80;
    while (Date.now() < until) {
      await post(url, `4c${c++}\x1e4c${c++}`);
      toClient.push(...messagesOf(await (await get(url)).text()));
    }
    // Start the probe while a poll is waiting, as engine.io-client does.
    const pendingGet = get(url);
    const ws = new WsClient(wsUrl);
    await ws.opened;
    await post(url, `4c${c++}`);
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    toClient.push(...messagesOf(await (await pendingGet).text()));
    await post(url, `4c${c++}`);
    // Paused: no more polls; the server keeps sending (into the buffer) until 5 arrives.
    await Bun.sleep(20);
    ws.send("5");
    for (let i = 0; i < 40; i++) {
      ws.send(`4c${c++}`);
      if (i % 10 === 0) await Bun.sleep(1);
    }
    clearInterval(stream);
    socket.send("end");
    for (;;) {
      const frame = (await ws.nextMessage()) as string;
      if (frame === "4end") break;
      toClient.push(frame.slice(1));
    }
    await Bun.sleep(20);
    expect(s).toBeGreaterThan(20);
    expectSequence(toClient, "s", s);
    expectSequence(toServer, "c", c);
    ws.close();
  });

  test("an empty binary message queued during the probe is flushed over the websocket and the session stays open", async () => {
    const { socket, url, wsUrl } = await openPolling(t);
    const upgraded = new Promise<void>((resolve) => socket.once("upgrade", () => resolve()));
    const ws = new WsClient(wsUrl);
    await ws.opened;
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    expect(await (await get(url)).text()).toBe("6");
    socket.sendMany([new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2])]);
    ws.send("5");
    await upgraded;
    expect(await ws.next()).toEqual(new Uint8Array([1]));
    expect(await ws.next()).toEqual(new Uint8Array(0));
    expect(await ws.next()).toEqual(new Uint8Array([2]));
    socket.send(new Uint8Array(0));
    expect(await ws.next()).toEqual(new Uint8Array(0));
    expect(socket.state).toBe("open");
    ws.close();
  });

  test("polls are held as usual until the probe has sent 2probe", async () => {
    const { socket, url, wsUrl } = await openPolling(t);
    const ws = new WsClient(wsUrl);
    await ws.opened;
    await Bun.sleep(20);
    const pending = get(url);
    const early = await Promise.race([pending.then(() => "answered"), Bun.sleep(60).then(() => "held")]);
    expect(early).toBe("held");
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    expect(await (await pending).text()).toBe("6");
    expect(await (await get(url)).text()).toBe("6");
    ws.close();
    await Bun.sleep(20);
    expect(socket.transportName).toBe("polling");
  });

  test("a probe that never sends 5 is closed after upgradeTimeout and the session keeps polling", async () => {
    const { socket, url, wsUrl } = await openPolling(t);
    const ws = new WsClient(wsUrl);
    await ws.opened;
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    const started = Date.now();
    const { code } = await ws.waitClosed(2000);
    expect(code).toBe(4009);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(socket.state).toBe("open");
    expect(socket.transportName).toBe("polling");
    socket.send("still here");
    expect(await (await get(url)).text()).toBe("4still here");
  });

  test("a probe that sends something else than 2probe or 5 is dropped and the session stays on polling", async () => {
    const { socket, url, wsUrl } = await openPolling(t);
    const ws = new WsClient(wsUrl);
    await ws.opened;
    ws.send("4sneaky");
    await ws.waitClosed();
    expect(socket.transportName).toBe("polling");
    socket.send("ok");
    expect(await (await get(url)).text()).toBe("4ok");
  });

  test("an unknown sid is refused; a second concurrent probe and a websocket after the upgrade are accepted and closed at once", async () => {
    const errors: number[] = [];
    t.engine.on("connection_error", (e) => errors.push(e.code));
    const unknown = new WsClient(t.url({ transport: "websocket", sid: "nope" }, "ws"));
    expect(await unknown.opened.then(() => "open").catch(() => "refused")).toBe("refused");
    expect(errors).toEqual([1]);

    const { socket, wsUrl } = await openPolling(t);
    const first = new WsClient(wsUrl);
    await first.opened;
    const second = new WsClient(wsUrl);
    await second.opened;
    await second.waitClosed();
    first.send("2probe");
    expect(await first.next()).toBe("3probe");
    first.send("5");
    await Bun.sleep(30);
    expect(socket.transportName).toBe("websocket");
    const third = new WsClient(wsUrl);
    await third.opened;
    await third.waitClosed();
    expect(errors).toEqual([1]);
    expect(socket.state).toBe("open");
    expect(socket.transportName).toBe("websocket");
    first.close();
  });

  test("a session closed before the probe sent 2probe drops the probe and closes over polling", async () => {
    const { socket, url, wsUrl } = await openPolling(t);
    const ws = new WsClient(wsUrl);
    await ws.opened;
    await Bun.sleep(20);
    const closed = nextClose(socket);
    socket.send("bye");
    socket.close();
    expect((await ws.waitClosed()).code).toBe(4009);
    // The client never paused polling: it gets the queue, then the close packet.
    expect(await (await get(url)).text()).toBe("4bye");
    expect(await (await get(url)).text()).toBe("6\x1e1");
    expect((await closed).reason).toBe("forced close");
  });

  test("a confirmed probe that misses upgradeTimeout after a close ends the closing session", async () => {
    const { socket, url, wsUrl } = await openPolling(t);
    const ws = new WsClient(wsUrl);
    await ws.opened;
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    expect(await (await get(url)).text()).toBe("6");
    const closed = nextClose(socket);
    socket.close();
    expect(socket.state).toBe("closing");
    expect((await ws.waitClosed()).code).toBe(4009);
    expect((await closed).reason).toBe("forced close");
    expect(t.engine.clients.has(socket.id)).toBe(false);
  });
});

describe("engine close during an upgrade (default upgradeTimeout and close timeout)", () => {
  // With engine.io's defaults (10 s upgrade timeout, 30 s polling close timeout) every wait below
  // is far shorter than either: the close must not be waiting on a timer.
  const t = startEngine();
  afterAll(() => t.close());

  /** A polling session whose client got 3probe and paused polling (its last GET answered "6"). */
  async function confirmedProbe() {
    const { socket, url, wsUrl } = await openPolling(t);
    const ws = new WsClient(wsUrl);
    await ws.opened;
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    expect(await (await get(url)).text()).toBe("6");
    return { socket, url, ws };
  }

  test("closed while the client switches: its 5 completes the switch, the queue goes over the websocket, which then closes", async () => {
    const { socket, ws } = await confirmedProbe();
    socket.subscribe("room-mid-upgrade");
    const closed = nextClose(socket, 1000);
    socket.send("last-1");
    socket.send(new Uint8Array([5]));
    socket.close();
    expect(socket.state).toBe("closing");
    expect(t.engine.subscriberCount("room-mid-upgrade")).toBe(0);
    ws.send("5");
    expect(await ws.next()).toBe("4last-1");
    expect(await ws.next()).toEqual(new Uint8Array([5]));
    expect((await ws.waitClosed(1000)).code).toBe(1000);
    expect((await closed).reason).toBe("forced close");
    expect(socket.state).toBe("closed");
    expect(t.engine.clients.has(socket.id)).toBe(false);
    expect(t.engine.subscriberCount("room-mid-upgrade")).toBe(0);
  });

  test("closed while the client switches, then the client drops the probe: the session ends at once", async () => {
    const { socket, ws } = await confirmedProbe();
    const closed = nextClose(socket, 1000);
    socket.send("queued");
    socket.close();
    ws.close();
    expect((await closed).reason).toBe("forced close");
    expect(t.engine.clients.has(socket.id)).toBe(false);
  });
});

describe("engine upgrades switched off", () => {
  const t = startEngine({ allowUpgrades: false });
  afterAll(() => t.close());

  test("a websocket with a polling session's sid is refused", async () => {
    const { sid } = await handshake(t);
    const ws = new WsClient(t.url({ transport: "websocket", sid }, "ws"));
    expect(await ws.opened.then(() => "open").catch(() => "refused")).toBe("refused");
  });
});
