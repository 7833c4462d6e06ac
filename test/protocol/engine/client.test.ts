/**
 * One behavioural suite, run with the stock engine.io-client (the one socket.io-client bundles)
 * over polling only, websocket only, and polling upgraded to websocket.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Socket } from "engine.io-client";
import type { EngineSocket, RawData } from "../../../protocol/engine/index.ts";
import { nextConnection, startEngine, withTimeout } from "./helpers.ts";

type Mode = { name: string; transports: ("polling" | "websocket")[]; finalTransport: string };

const MODES: Mode[] = [
  { name: "polling", transports: ["polling"], finalTransport: "polling" },
  { name: "websocket", transports: ["websocket"], finalTransport: "websocket" },
  {
    name: "polling upgraded to websocket",
    transports: ["polling", "websocket"],
    finalTransport: "websocket",
  },
];

const toBytes = (d: unknown) => new Uint8Array(d as ArrayBuffer);

for (const mode of MODES) {
  describe(`engine.io-client over ${mode.name}`, () => {
    // Short enough to see several pings, loose enough for a loaded CI machine.
    const t = startEngine({ pingInterval: 200, pingTimeout: 1000 });
    const clients: Socket[] = [];
    afterAll(async () => {
      for (const c of clients) c.close();
      await t.close();
    });

    async function connect(): Promise<{ client: Socket; socket: EngineSocket }> {
      const connected = nextConnection(t.engine);
      const client = new Socket(t.base, { transports: mode.transports });
      client.binaryType = "arraybuffer";
      clients.push(client);
      await withTimeout(new Promise<void>((r) => client.once("open", () => r())), "client open");
      return { client, socket: await connected };
    }

    function whenUpgraded(client: Socket): Promise<void> {
      if (client.transport.name === mode.finalTransport) return Promise.resolve();
      return withTimeout(new Promise<void>((r) => client.once("upgrade", () => r())), "client upgrade");
    }

    test("text and binary messages echo both ways", async () => {
      const { client, socket } = await connect();
      socket.on("message", (d) => socket.send(d));
      const got: unknown[] = [];
      const done = new Promise<void>((r) =>
        client.on("message", (d) => {
          // engine.io-parser decodes a bare "4" (empty message) as undefined data.
          got.push(d === undefined || typeof d === "string" ? d : toBytes(d));
          if (got.length === 3) r();
        }),
      );
      client.send("héllo ✓");
      client.send(new Uint8Array([0, 1, 255]));
      client.send("");
      await withTimeout(done, "echoes");
      expect(got).toEqual(["héllo ✓", new Uint8Array([0, 1, 255]), undefined]);
      await whenUpgraded(client);
      expect(client.transport.name).toBe(mode.finalTransport);
    });

    test("numbered streams in both directions arrive complete and in order (across the upgrade when there is one)", async () => {
      const { client, socket } = await connect();
      const N = 300;
      const toServer: RawData[] = [];
      const toClient: string[] = [];
      const serverDone = new Promise<void>((r) =>
        socket.on("message", (d) => {
          toServer.push(d);
          if (toServer.length === N) r();
        }),
      );
      const clientDone = new Promise<void>((r) =>
        client.on("message", (d) => {
          toClient.push(d as string);
          if (toClient.length === N) r();
        }),
      );
      for (let i = 0; i < N; i++) {
        client.send(`c${i}`);
        socket.send(`s${i}`);
        if (i % 20 === 0) await Bun.sleep(2);
      }
      const closed = new Promise<never>((_, reject) =>
        socket.once("close", (reason) => reject(new Error(`session closed mid-stream: ${reason}`))),
      );
      await withTimeout(Promise.race([Promise.all([serverDone, clientDone]), closed]), "streams", 15_000);
      expect(toServer).toEqual(Array.from({ length: N }, (_, i) => `c${i}`));
      expect(toClient).toEqual(Array.from({ length: N }, (_, i) => `s${i}`));
      await whenUpgraded(client);
    }, 20_000);

    test("the heartbeat keeps an idle client connected over several ping intervals", async () => {
      const { client, socket } = await connect();
      let closed = false;
      socket.on("close", () => {
        closed = true;
      });
      await Bun.sleep(700);
      expect(closed).toBe(false);
      expect(client.readyState).toBe("open");
    });

    test("a server close reaches the client; a client close reaches the server as 'transport close'", async () => {
      const first = await connect();
      const clientClosed = withTimeout(
        new Promise<string>((r) => first.client.once("close", (reason) => r(reason))),
        "client close",
      );
      first.socket.close();
      expect(await clientClosed).toBeString();

      const second = await connect();
      await whenUpgraded(second.client);
      const serverClosed = withTimeout(
        new Promise<string>((r) => second.socket.once("close", (reason) => r(reason))),
        "server close",
      );
      second.client.close();
      expect(await serverClosed).toBe("transport close");
    });
  });
}
