/**
 * The `relayForeignUpgrade` hook: a websocket upgrade for a session the engine does not hold is
 * accepted on behalf of the relay the hook returns (its events go there, the engine keeps no
 * session), or answered "Session ID unknown" when the hook returns null.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { ForeignWebSocket, RelayedWebSocket } from "../../../protocol/engine/contract.ts";
import { startEngine, WsClient } from "./helpers.ts";

describe("engine relayForeignUpgrade", () => {
  const events: string[] = [];
  const asked: string[] = [];
  const t = startEngine({
    relayForeignUpgrade: async (_req, sid) => {
      asked.push(sid);
      if (sid !== "elsewhere") return null;
      const relay: ForeignWebSocket = {
        open: (ws: RelayedWebSocket) => {
          events.push("open");
          ws.send("hello from the relay");
        },
        message: (ws, message) => {
          events.push(`message:${String(message)}`);
          ws.send(`echo:${String(message)}`);
        },
        close: (_ws, code) => events.push(`close:${code}`),
        drain: () => {},
      };
      return relay;
    },
  });
  afterAll(() => t.close());

  test("an upgrade for a foreign session goes to the relay; the engine holds no session for it", async () => {
    const client = new WsClient(t.url({ transport: "websocket", sid: "elsewhere" }, "ws"));
    expect(await client.next()).toBe("hello from the relay");
    client.send("2probe");
    expect(await client.next()).toBe("echo:2probe");
    expect(t.engine.clientsCount).toBe(0);
    client.close();
    for (let i = 0; i < 50 && events.at(-1)?.startsWith("close") !== true; i++) await Bun.sleep(10);
    expect(events.slice(0, 2)).toEqual(["open", "message:2probe"]);
    expect(events[2]).toStartWith("close:");
    expect(events).toHaveLength(3);
  });

  test("null from the hook: the upgrade is answered Session ID unknown", async () => {
    const res = await fetch(t.url({ transport: "websocket", sid: "nowhere" }), {
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: 1, message: "Session ID unknown" });
    expect(asked).toContain("nowhere");
  });

  test("a polling request for a foreign session never asks the relay", async () => {
    const before = asked.length;
    const res = await fetch(t.url({ transport: "polling", sid: "elsewhere" }));
    expect(res.status).toBe(400);
    expect(asked.length).toBe(before);
  });
});
