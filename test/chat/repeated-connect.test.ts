/**
 * A session that sends many CONNECT packets while the first is still in the (async) auth
 * middleware: every socket it created closes with it, so once the connection is gone the per-user
 * connection count, the connection metrics and the namespace are back where they started.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { RawClient } from "../protocol/socketio/raw-client.ts";
import { type Harness, sleep, startHarness } from "./harness.ts";

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

for (const backend of await backends()) {
  describe(`repeated CONNECT on ${backend.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      // A cap above the number of CONNECTs, so no socket is pushed out and all of them connect.
      h = await startHarness(backend, { MAX_CONNECTIONS_PER_USER: "1000" });
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => h?.close(), SETUP_TIMEOUT_MS);

    const port = () => Number(new URL(h.url).port);

    async function activeConnectionsMetric(): Promise<number> {
      const text = await (await h.api("/metrics")).text();
      const match = /^switchboard_active_connections (\d+)$/m.exec(text);
      if (!match) throw new Error("no switchboard_active_connections in /metrics");
      return Number(match[1]);
    }

    async function burst(user: typeof h.fx.agent, count: number, waitForAll: boolean): Promise<void> {
      const token = await h.token(user);
      const raw = await RawClient.connect(port());
      for (let i = 0; i < count; i++) raw.send(`0${JSON.stringify({ token })}`);
      if (waitForAll) {
        // Every CONNECT answered (the greeting, a "connected" event, may come in between), unless a
        // CONNECT arrived after the first socket connected: socket.io then closes the connection.
        let answers = 0;
        while (answers < count && !raw.closed) {
          const packet = await raw.packet().catch(() => "closed");
          if (packet === "closed") break;
          if ((packet as string).startsWith("0")) answers++;
        }
        if (answers === count) expect(h.server.realtime.connectionsOf(user.id)).toBe(count);
      }
      raw.close();
    }

    test("every socket of a closed connection leaves the per-user count, the metrics and the namespace", async () => {
      const user = h.fx.spare[0]!;
      for (let round = 0; round < 10; round++) await burst(user, 30, round % 2 === 0);
      const io = h.server.realtime.io;
      await until("every engine session to close", () => io.engine.clientsCount === 0);
      // A middleware still running at the close answers after it: its socket must not connect.
      await sleep(100);
      expect(h.server.realtime.connectionsOf(user.id)).toBe(0);
      expect(io.sockets.sockets.size).toBe(0);
      expect(io.sockets.adapter.sids.size).toBe(0);
      expect(io.sockets.adapter.rooms.size).toBe(0);
      expect(await activeConnectionsMetric()).toBe(0);
    });
  });
}
