import { afterAll, describe, expect, test } from "bun:test";
import { get, handshake, nextConnection, parseOpen, startEngine, WsClient } from "./helpers.ts";

const SID_PATTERN = /^[A-Za-z0-9_-]{20}$/;

describe("engine handshake", () => {
  const t = startEngine({ path: "/socket.io/" });
  afterAll(() => t.close());

  test("a polling handshake answers the open packet with engine.io's defaults, byte for byte", async () => {
    const res = await get(t.url({ transport: "polling" }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=UTF-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await res.text();
    const { sid } = parseOpen(body);
    expect(sid).toMatch(SID_PATTERN);
    expect(body).toBe(
      `0{"sid":"${sid}","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
    );
    expect(t.engine.clients.get(sid)?.transportName).toBe("polling");
  });

  test("a direct websocket handshake gets the open packet as its first frame, with no upgrades", async () => {
    const connected = nextConnection(t.engine);
    const ws = new WsClient(t.url({ transport: "websocket" }, "ws"));
    await ws.opened;
    const frame = await ws.next();
    expect(typeof frame).toBe("string");
    const open = parseOpen(frame as string);
    expect(frame).toBe(
      `0{"sid":"${open.sid}","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
    );
    const socket = await connected;
    expect(socket.id).toBe(open.sid);
    expect(socket.transportName).toBe("websocket");
    expect(socket.request.query.get("transport")).toBe("websocket");
    expect(socket.request.remoteAddress).toBe("127.0.0.1");
    ws.close();
  });

  test("session ids are unique", async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => handshake(t).then((h) => h.sid)));
    expect(new Set(ids).size).toBe(20);
  });

  test("the path works without its trailing slash and other paths are a 404", async () => {
    const res = await get(`${t.base}/socket.io?EIO=4&transport=polling`);
    expect(res.status).toBe(200);
    const other = await get(`${t.base}/elsewhere`);
    expect(other.status).toBe(404);
    expect(other.headers.get("content-type")).toContain("application/json");
  });
});

describe("engine handshake options", () => {
  const t = startEngine({
    allowUpgrades: false,
    pingInterval: 1234,
    pingTimeout: 567,
    maxHttpBufferSize: 4321,
    generateId: async (req) =>
      `node1-${new URL(req.url).searchParams.get("tag") ?? "x"}-${Math.random().toString(36).slice(2, 8)}`,
  });
  afterAll(() => t.close());

  test("the default path is /engine.io/ like the engine.io package", () => {
    expect(t.engine.opts.path).toBe("/engine.io/");
  });

  test("the open packet carries the configured intervals and payload limit, and no upgrades when upgrades are off", async () => {
    const { raw } = await handshake(t);
    const open = parseOpen(raw);
    expect(open.upgrades).toEqual([]);
    expect(open.pingInterval).toBe(1234);
    expect(open.pingTimeout).toBe(567);
    expect(open.maxPayload).toBe(4321);
  });

  test("generateId(req) makes the session id", async () => {
    const res = await get(t.url({ transport: "polling", tag: "abc" }));
    const { sid } = parseOpen(await res.text());
    expect(sid).toStartWith("node1-abc-");
    expect(t.engine.clients.has(sid)).toBe(true);
  });
});

describe("engine handshake with a transport list", () => {
  const t = startEngine({ transports: ["polling"] });
  afterAll(() => t.close());

  test("upgrades are empty when websocket is not an allowed transport", async () => {
    const { raw } = await handshake(t);
    expect(parseOpen(raw).upgrades).toEqual([]);
  });
});
