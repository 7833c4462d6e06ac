/**
 * Property tests: random and mutated requests, payloads and frames thrown at a live engine. The
 * engine must answer every request, never crash, and leave an unrelated client untouched.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { EngineSocket } from "../../../protocol/engine/index.ts";
import { get, handshake, nextConnection, startEngine, WsClient, withTimeout } from "./helpers.ts";

const ANSWERED_STATUSES = new Set([200, 204, 400, 403, 404, 413, 500]);

/** Packets that look almost right: valid ones, mutated ones, and garbage. */
const packetText = fc.oneof(
  fc.constantFrom(
    "4hello",
    "3",
    "2",
    "2probe",
    "5",
    "6",
    "1",
    "0",
    "4",
    "b",
    "bAQID",
    "b!!!",
    "7",
    "",
    "\x1e",
  ),
  fc.string().map((s) => `4${s}`),
  fc.string(),
  fc.base64String().map((s) => `b${s}`),
  fc.stringMatching(/^[0-9b][\s\S]{0,40}$/),
);
const payload = fc.array(packetText, { minLength: 1, maxLength: 6 }).map((parts) => parts.join("\x1e"));
const bytes = fc.uint8Array({ maxLength: 64 });

describe("engine under random input", () => {
  const t = startEngine({ maxHttpBufferSize: 2000, pingInterval: 60_000 });
  let bystander: WsClient;
  let bystanderSocket: EngineSocket;

  beforeAll(async () => {
    const connected = nextConnection(t.engine);
    bystander = new WsClient(t.url({ transport: "websocket" }, "ws"));
    await bystander.next();
    bystanderSocket = await connected;
    bystanderSocket.on("message", (d) => bystanderSocket.send(d));
  });

  afterAll(async () => {
    bystander.close();
    await t.close();
  });

  async function expectHealthy() {
    bystander.send("4still-there");
    expect(await bystander.nextMessage()).toBe("4still-there");
    expect(bystanderSocket.state).toBe("open");
    const { sid } = await handshake(t);
    expect(t.engine.clients.has(sid)).toBe(true);
  }

  test("random query strings and methods always get an answer", async () => {
    const query = fc.record(
      {
        EIO: fc.oneof(fc.constantFrom("4", "3", "5", ""), fc.string({ maxLength: 5 })),
        transport: fc.oneof(
          fc.constantFrom("polling", "websocket", "webtransport"),
          fc.string({ maxLength: 8 }),
        ),
        sid: fc.oneof(fc.constant("unknown-sid"), fc.string({ maxLength: 24 })),
        j: fc.string({ maxLength: 4 }),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        query,
        fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"),
        async (q, method) => {
          const params = new URLSearchParams(q as Record<string, string>);
          const res = await get(`${t.base}${t.engine.opts.path}?${params}`, {
            method,
            body: method === "GET" || method === "OPTIONS" ? undefined : "4x",
          });
          await res.arrayBuffer();
          expect(ANSWERED_STATUSES.has(res.status)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
    await expectHealthy();
  }, 30_000);

  test("random and mutated POST payloads (including invalid UTF-8) never break the engine", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(payload, bytes), async (body) => {
        const { sid } = await handshake(t);
        const res = await get(t.url({ transport: "polling", sid }), { method: "POST", body });
        await res.arrayBuffer();
        expect([200, 400, 413]).toContain(res.status);
      }),
      { numRuns: 150 },
    );
    await expectHealthy();
  }, 30_000);

  test("random websocket frames (text and binary) never break the engine", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(payload, bytes), { minLength: 1, maxLength: 5 }), async (frames) => {
        const client = new WsClient(t.url({ transport: "websocket" }, "ws"));
        await client.next();
        for (const frame of frames) client.send(frame);
        client.send("4ping-check");
        client.close();
        await withTimeout(client.closed, "fuzz client close");
      }),
      { numRuns: 60 },
    );
    await expectHealthy();
  }, 30_000);

  test("random frames on an upgrade probe never break the session or the engine", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(payload, bytes), { minLength: 1, maxLength: 4 }), async (frames) => {
        const { sid } = await handshake(t);
        const probe = new WsClient(t.url({ transport: "websocket", sid }, "ws"));
        await probe.opened;
        for (const frame of frames) probe.send(frame);
        await Bun.sleep(2);
        probe.close();
        await withTimeout(probe.closed, "probe close");
        const session = t.engine.clients.get(sid);
        if (session) expect(["open", "closing", "closed"]).toContain(session.state);
      }),
      { numRuns: 60 },
    );
    await expectHealthy();
  }, 30_000);
});
