import { afterAll, describe, expect, test } from "bun:test";
import type { ConnectionErrorEvent } from "../../../protocol/engine/index.ts";
import { get, handshake, post, startEngine, WsClient } from "./helpers.ts";

async function expectError(res: Response, status: number, code: number, message: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/json");
  expect(await res.text()).toBe(JSON.stringify({ code, message }));
}

describe("engine HTTP errors", () => {
  const events: ConnectionErrorEvent[] = [];
  const t = startEngine({
    allowRequest: (req) => {
      const who = new URL(req.url).searchParams.get("who");
      if (who === "mallory") return false;
      if (who === "eve") return "no eves here";
      return true;
    },
  });
  t.engine.on("connection_error", (e) => events.push(e));
  afterAll(() => t.close());

  test("code 0: a missing or unknown transport is 'Transport unknown' (400)", async () => {
    await expectError(await get(t.url({})), 400, 0, "Transport unknown");
    await expectError(await get(t.url({ transport: "carrier-pigeon" })), 400, 0, "Transport unknown");
    const last = events.at(-1)!;
    expect(last.code).toBe(0);
    expect(last.message).toBe("Transport unknown");
    expect(last.context).toEqual({ transport: "carrier-pigeon" });
    expect(last.req).toBeInstanceOf(Request);
  });

  test("code 1: an unknown sid is 'Session ID unknown' (400)", async () => {
    await expectError(await get(t.url({ transport: "polling", sid: "nope" })), 400, 1, "Session ID unknown");
    expect(events.at(-1)!.context).toEqual({ sid: "nope" });
  });

  test("code 2: a handshake that is not a GET is 'Bad handshake method' (400)", async () => {
    await expectError(await post(t.url({ transport: "polling" }), "4hi"), 400, 2, "Bad handshake method");
    expect(events.at(-1)!.context).toEqual({ method: "POST" });
  });

  test("code 3: a websocket handshake without an upgrade is 'Bad request' (400)", async () => {
    await expectError(await get(t.url({ transport: "websocket" })), 400, 3, "Bad request");
    expect(events.at(-1)!.context).toEqual({ name: "TRANSPORT_HANDSHAKE_ERROR" });
  });

  test("code 3: polling a websocket session is 'Bad request' (400)", async () => {
    const ws = new WsClient(t.url({ transport: "websocket" }, "ws"));
    const sid = JSON.parse(((await ws.next()) as string).slice(1)).sid as string;
    await expectError(await post(t.url({ transport: "polling", sid }), "4hi"), 400, 3, "Bad request");
    expect(events.at(-1)!.context).toMatchObject({
      name: "TRANSPORT_MISMATCH",
      previousTransport: "websocket",
    });
    ws.close();
  });

  test("code 3: a request for a session with another protocol version is 'Bad request'", async () => {
    const { sid } = await handshake(t);
    await expectError(await get(t.url({ transport: "polling", sid, EIO: "3" })), 400, 3, "Bad request");
    expect(events.at(-1)!.context).toMatchObject({ name: "PROTOCOL_MISMATCH" });
  });

  test("code 4: allowRequest refusing is 'Forbidden' (403), or its own message", async () => {
    await expectError(await get(t.url({ transport: "polling", who: "mallory" })), 403, 4, "Forbidden");
    await expectError(await get(t.url({ transport: "polling", who: "eve" })), 403, 4, "no eves here");
    expect(events.at(-1)!.message).toBe("Forbidden");
  });

  test("code 4: allowRequest also guards websocket handshakes", async () => {
    const before = t.engine.clientsCount;
    const ws = new WsClient(t.url({ transport: "websocket", who: "mallory" }, "ws"));
    expect(await ws.opened.then(() => "open").catch(() => "refused")).toBe("refused");
    expect(events.at(-1)!.code).toBe(4);
    expect(t.engine.clientsCount).toBe(before);
  });

  test("code 5: EIO=3 or a missing EIO is 'Unsupported protocol version' (400)", async () => {
    await expectError(
      await get(t.url({ transport: "polling", EIO: "3" })),
      400,
      5,
      "Unsupported protocol version",
    );
    const noEio = `${t.base}/engine.io/?transport=polling`;
    await expectError(await get(noEio), 400, 5, "Unsupported protocol version");
    expect(events.at(-1)!.context).toEqual({ protocol: 3 });
  });

  test("an unexpected method on an existing session is a bare 500", async () => {
    const { sid } = await handshake(t);
    const res = await get(t.url({ transport: "polling", sid }), { method: "PUT", body: "x" });
    expect(res.status).toBe(500);
  });
});

describe("engine foreign sessions", () => {
  const asked: string[] = [];
  const t = startEngine({
    resolveForeignSession: async (_req, sid) => {
      asked.push(sid);
      return sid.startsWith("other-") ? new Response("forwarded", { status: 200 }) : null;
    },
  });
  afterAll(() => t.close());

  test("resolveForeignSession answers for a sid this node does not know; null falls back to code 1", async () => {
    const res = await get(t.url({ transport: "polling", sid: "other-123" }));
    expect(await res.text()).toBe("forwarded");
    const unknown = await get(t.url({ transport: "polling", sid: "gone" }));
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ code: 1, message: "Session ID unknown" });
    expect(asked).toEqual(["other-123", "gone"]);
  });

  test("a known sid never consults resolveForeignSession", async () => {
    const { sid } = await handshake(t);
    const before = asked.length;
    const res = await post(t.url({ transport: "polling", sid }), "4hi");
    expect(await res.text()).toBe("ok");
    expect(asked.length).toBe(before);
  });
});

describe("engine with a custom generateId", () => {
  let next = "fixed-id";
  const t = startEngine({
    generateId: () => {
      if (next === "throw") throw new Error("id service down");
      return next;
    },
  });
  afterAll(() => t.close());

  test("a repeated id is refused with 'Bad request' instead of taking over the live session", async () => {
    const { sid } = await handshake(t);
    expect(sid).toBe("fixed-id");
    const again = await get(t.url({ transport: "polling" }));
    expect(await again.json()).toEqual({ code: 3, message: "Bad request" });
    expect(t.engine.clients.get("fixed-id")?.state).toBe("open");
  });

  test("a throwing generateId is refused with 'Bad request'", async () => {
    next = "throw";
    const res = await get(t.url({ transport: "polling" }));
    expect(await res.json()).toEqual({ code: 3, message: "Bad request" });
  });
});
