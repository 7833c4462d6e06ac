/**
 * `io.engine.generateId = (req) => ...`, the way socket.io's documentation gives custom session
 * ids: the engine calls the method assigned on it (sync or async) for each new session.
 */
import { afterEach, expect, test } from "bun:test";
import type { Socket } from "../../../protocol/index.ts";
import { Harness, next, TRANSPORTS } from "./support.ts";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

for (const transport of [TRANSPORTS.polling, TRANSPORTS.websocket]) {
  test(`an id method assigned on io.engine names new sessions (${transport.name})`, async () => {
    h = new Harness(transport);
    const seen: string[] = [];
    h.io.engine.generateId = (req: Request) => {
      seen.push(new URL(req.url).searchParams.get("custom") ?? "");
      return `custom-id-${seen.length}`;
    };
    const connection = next<[Socket]>(h.io, "connection");
    const client = await h.connected("/", { query: { custom: "yes" } });
    const [socket] = await connection;
    expect(socket.conn.id).toBe("custom-id-1");
    expect(client.io.engine.id).toBe("custom-id-1");
    expect(seen).toEqual(["yes"]);
  });
}

test("the assigned method may return a Promise", async () => {
  h = new Harness(TRANSPORTS.polling);
  h.io.engine.generateId = async () => "async-custom-id";
  const connection = next<[Socket]>(h.io, "connection");
  await h.connected();
  const [socket] = await connection;
  expect(socket.conn.id).toBe("async-custom-id");
});
