import { afterAll, describe, expect, test } from "bun:test";
import type { EngineSocket } from "../../../protocol/engine/index.ts";
import { get, handshake, nextConnection, startEngine, type TestEngine, WsClient } from "./helpers.ts";

async function wsSession(t: TestEngine) {
  const connected = nextConnection(t.engine);
  const client = new WsClient(t.url({ transport: "websocket" }, "ws"));
  await client.next();
  return { client, socket: await connected };
}

async function pollingSession(t: TestEngine) {
  const connected = nextConnection(t.engine);
  const { sid } = await handshake(t);
  return { socket: await connected, url: t.url({ transport: "polling", sid }), sid };
}

async function noFrameWithin(client: WsClient, ms: number) {
  return client
    .next(ms)
    .then((f) => f)
    .catch(() => null);
}

describe("engine publish (EnginePublisher)", () => {
  const t = startEngine({ httpCompression: false });
  afterAll(() => t.close());

  test("one publish reaches websocket and polling subscribers, except the excluded one, with frames in order", async () => {
    const a = await wsSession(t);
    const b = await wsSession(t);
    const p = await pollingSession(t);
    const q = await pollingSession(t);
    const outsider = await wsSession(t);
    for (const s of [a.socket, b.socket, p.socket, q.socket]) s.subscribe("room");
    expect(t.engine.subscriberCount("room")).toBe(4);

    t.engine.publish("room", ["head", new Uint8Array([1, 2])], { except: a.socket });
    t.engine.publish("room", "tail");
    expect(await b.client.next()).toBe("4head");
    expect(await b.client.next()).toEqual(new Uint8Array([1, 2]));
    expect(await b.client.next()).toBe("4tail");
    expect(await a.client.next()).toBe("4tail");
    expect(await (await get(p.url)).text()).toBe("4head\x1ebAQI=\x1e4tail");
    expect(await (await get(q.url)).text()).toBe("4head\x1ebAQI=\x1e4tail");
    expect(await noFrameWithin(outsider.client, 50)).toBeNull();

    t.engine.publish("room", "skip-polling", { except: p.socket });
    expect(await a.client.next()).toBe("4skip-polling");
    expect(await b.client.next()).toBe("4skip-polling");
    expect(await (await get(q.url)).text()).toBe("4skip-polling");
    p.socket.send("direct");
    expect(await (await get(p.url)).text()).toBe("4direct");

    b.socket.unsubscribe("room");
    q.socket.unsubscribe("room");
    expect(t.engine.subscriberCount("room")).toBe(2);
    t.engine.publish("room", "fewer");
    expect(await a.client.next()).toBe("4fewer");
    expect(await noFrameWithin(b.client, 50)).toBeNull();
    for (const c of [a, b, outsider]) c.client.close();
  });

  test("a session's topics survive the upgrade: no loss, no duplicate, native afterwards", async () => {
    const { socket, url, sid } = await pollingSession(t);
    socket.subscribe("topic-x");
    t.engine.publish("topic-x", "before");
    expect(await (await get(url)).text()).toBe("4before");
    const ws = new WsClient(t.url({ transport: "websocket", sid }, "ws"));
    await ws.opened;
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    t.engine.publish("topic-x", "during");
    ws.send("5");
    await new Promise<void>((r) => socket.once("upgrade", () => r()));
    t.engine.publish("topic-x", "after");
    expect(await ws.next()).toBe("4during");
    expect(await ws.next()).toBe("4after");
    expect(await noFrameWithin(ws, 50)).toBeNull();
    expect(t.engine.subscriberCount("topic-x")).toBe(1);
    ws.close();
  });

  test("closed sessions leave their topics", async () => {
    const p = await pollingSession(t);
    const w = await wsSession(t);
    p.socket.subscribe("gone");
    w.socket.subscribe("gone");
    expect(t.engine.subscriberCount("gone")).toBe(2);
    const closed = new Promise((r) => w.socket.once("close", r));
    p.socket.close();
    w.client.close();
    await closed;
    await Bun.sleep(10);
    expect(t.engine.subscriberCount("gone")).toBe(0);
    expect(() => t.engine.publish("gone", "nobody")).not.toThrow();
    for (const s of [p.socket, w.socket]) {
      expect(() => s.subscribe("late")).not.toThrow();
      expect(() => s.unsubscribe("gone")).not.toThrow();
    }
    expect(t.engine.subscriberCount("late")).toBe(0);
  });

  test("subscribe is idempotent", async () => {
    const w = await wsSession(t);
    const socket: EngineSocket = w.socket;
    socket.subscribe("dup");
    socket.subscribe("dup");
    t.engine.publish("dup", "once");
    expect(await w.client.next()).toBe("4once");
    expect(await noFrameWithin(w.client, 50)).toBeNull();
    w.client.close();
  });
});

describe("engine publish with permessage-deflate", () => {
  const t = startEngine({ perMessageDeflate: true });
  afterAll(() => t.close());

  test("native publish still reaches websocket subscribers", async () => {
    const a = await wsSession(t);
    a.socket.subscribe("z");
    const big = "y".repeat(5000);
    t.engine.publish("z", big);
    expect(await a.client.next()).toBe(`4${big}`);
    a.client.close();
  });
});
