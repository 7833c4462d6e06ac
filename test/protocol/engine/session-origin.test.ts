/**
 * Origin on the requests of an existing session (polling GET and POST with a sid, websocket upgrade
 * with a sid): refused 403 when the CORS origin rule does not allow it, or, without CORS, when it is
 * not the handshake's own Origin. Requests without an Origin (non-browser clients) stay allowed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { ConnectionErrorEvent, EngineSocket, RawData } from "../../../protocol/engine/index.ts";
import {
  get,
  handshake,
  nextConnection,
  post,
  startEngine,
  type TestEngine,
  WsClient,
  withTimeout,
} from "./helpers.ts";
import { afterHead, rawUpgrade, statusOf } from "./raw-tcp.ts";

const GOOD = "https://app.example";
const EVIL = "https://evil.example";

async function expectForbidden(res: Response) {
  expect(res.status).toBe(403);
  expect(await res.json()).toEqual({ code: 4, message: "Forbidden" });
}

async function openPolling(
  t: TestEngine,
  headers: HeadersInit = {},
): Promise<{ sid: string; socket: EngineSocket }> {
  const connected = nextConnection(t.engine);
  const { sid } = await handshake(t, headers);
  return { sid, socket: await connected };
}

async function rawUpgradeStatus(url: string, origin: string): Promise<{ status: number; body: string }> {
  const conn = await rawUpgrade(url, { Origin: origin });
  try {
    const bytes = await conn.until(
      (b) => statusOf(b) === 101 || afterHead(b).toString().endsWith("}"),
      "an answer",
    );
    return { status: statusOf(bytes), body: afterHead(bytes).toString() };
  } finally {
    conn.destroy();
  }
}

function messagesArrive(socket: EngineSocket): () => RawData[] {
  const got: RawData[] = [];
  socket.on("message", (d) => got.push(d));
  return () => got;
}

describe("Origin on session requests, with cors.origin configured", () => {
  const errors: ConnectionErrorEvent[] = [];
  const t = startEngine({
    cors: { origin: [GOOD], credentials: true },
    pingInterval: 10_000,
    pingTimeout: 10_000,
  });
  t.engine.on("connection_error", (e) => errors.push(e));
  afterAll(() => t.close());

  test("a polling POST or GET with a sid from an origin cors.origin refuses is 403 Forbidden; the session goes on", async () => {
    const { sid, socket } = await openPolling(t, { Origin: GOOD });
    const got = messagesArrive(socket);
    const url = t.url({ transport: "polling", sid });
    await expectForbidden(await post(url, "4from evil", { headers: { Origin: EVIL } }));
    expect(errors.at(-1)!.context).toEqual({ name: "ORIGIN_NOT_ALLOWED", origin: EVIL });
    await expectForbidden(await get(url, { headers: { Origin: EVIL } }));
    expect(socket.state).toBe("open");
    expect((await post(url, "4from good", { headers: { Origin: GOOD } })).status).toBe(200);
    expect(got()).toEqual(["from good"]);
  });

  test("requests without an Origin stay allowed", async () => {
    const { sid, socket } = await openPolling(t);
    const got = messagesArrive(socket);
    expect((await post(t.url({ transport: "polling", sid }), "4no origin")).status).toBe(200);
    expect(got()).toEqual(["no origin"]);
  });

  test("a websocket upgrade with a sid from a refused origin is 403 before any 101 (raw bytes); an allowed one upgrades", async () => {
    const { sid, socket } = await openPolling(t, { Origin: GOOD });
    const wsUrl = t.url({ transport: "websocket", sid }, "ws");
    const refused = await rawUpgradeStatus(wsUrl, EVIL);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({ code: 4, message: "Forbidden" });
    expect(socket.transportName).toBe("polling");
    const ws = new WsClient(wsUrl);
    await ws.opened;
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    const upgraded = withTimeout(new Promise<void>((r) => socket.once("upgrade", () => r())), "upgrade");
    ws.send("5");
    await upgraded;
    ws.close();
  });
});

describe("Origin on session requests, without CORS", () => {
  const t = startEngine({ pingInterval: 10_000, pingTimeout: 10_000 });
  afterAll(() => t.close());

  test("a session opened from one origin refuses requests from another (polling and upgrade)", async () => {
    const { sid } = await openPolling(t, { Origin: GOOD });
    const url = t.url({ transport: "polling", sid });
    await expectForbidden(await post(url, "4x", { headers: { Origin: EVIL } }));
    const refused = await rawUpgradeStatus(t.url({ transport: "websocket", sid }, "ws"), EVIL);
    expect(refused.status).toBe(403);
    expect((await post(url, "4x", { headers: { Origin: GOOD } })).status).toBe(200);
  });

  test("a session opened without an Origin takes requests with or without one (there is no rule to apply)", async () => {
    const { sid } = await openPolling(t);
    const url = t.url({ transport: "polling", sid });
    expect((await post(url, "4x", { headers: { Origin: GOOD } })).status).toBe(200);
    expect((await post(url, "4y")).status).toBe(200);
  });
});
