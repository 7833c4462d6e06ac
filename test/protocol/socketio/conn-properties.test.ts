/**
 * `socket.conn` has the engine.io Socket properties a socket.io application reads:
 * `remoteAddress`, `readyState`, `protocol`, `upgrading` and `upgraded`, with engine.io 6.6's values
 * through a session's life (websocket only, and polling upgraded to websocket).
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket } from "../../../protocol/index.ts";
import { Harness, next, TRANSPORTS } from "./support.ts";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe("socket.conn properties", () => {
  test("a websocket-only connection is open, protocol 4, never upgrading nor upgraded, with the peer's address", async () => {
    h = new Harness(TRANSPORTS.websocket);
    const connection = next<[Socket]>(h.io, "connection");
    await h.connected();
    const [socket] = await connection;
    const conn = socket.conn;
    expect(conn.remoteAddress).toContain("127.0.0.1");
    expect(conn.readyState).toBe("open");
    expect(conn.protocol).toBe(4);
    expect(conn.upgrading).toBe(false);
    expect(conn.upgraded).toBe(false);
  });

  test("a polling connection is upgrading while the probe runs and upgraded once on websocket", async () => {
    h = new Harness(TRANSPORTS.upgrade);
    const connection = next<[Socket]>(h.io, "connection");
    const client = h.client();
    const [socket] = await connection;
    const conn = socket.conn;
    expect(conn.upgraded).toBe(false);
    const seen: [boolean, boolean][] = [];
    conn.on("upgrading", () => seen.push([conn.upgrading, conn.upgraded]));
    const upgraded = next(conn, "upgrade");
    if (!client.connected) await next(client, "connect");
    await upgraded;
    expect(seen).toEqual([[true, false]]);
    expect(conn.upgrading).toBe(false);
    expect(conn.upgraded).toBe(true);
    expect(conn.remoteAddress).toContain("127.0.0.1");
  });

  test("readyState is closed once the connection is gone", async () => {
    h = new Harness(TRANSPORTS.polling);
    const connection = next<[Socket]>(h.io, "connection");
    const client = await h.connected();
    const [socket] = await connection;
    const closed = next(socket.conn, "close");
    client.disconnect();
    await closed;
    expect(socket.conn.readyState).toBe("closed");
  });
});
