/**
 * One engine behind two Bun servers (an app's public port plus a listener of its own that hands
 * requests to `engine.handleRequest`, like a cluster's internal port): native publishes reach the
 * websockets of both, `except` skips the excluded socket on whichever server it is, and a server
 * that only carried polling requests (even the very first request) does not take the publishes
 * away from the server that carries the websockets.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { Engine, type EngineWsData } from "../../../protocol/engine/index.ts";
import { nextConnection, WsClient } from "./helpers.ts";

describe("one engine on two Bun servers", () => {
  const engine = new Engine();
  const serve = (): Server<EngineWsData> =>
    Bun.serve<EngineWsData>({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req, server) => engine.handleRequest(req, server),
      websocket: engine.websocket,
    });
  // The "internal" server answers the engine's very first request, a polling handshake.
  const second = serve();
  const first = serve();
  afterAll(async () => {
    await engine.close();
    first.stop(true);
    second.stop(true);
  });
  const url = (server: Server<EngineWsData>, params: Record<string, string>, scheme = "http") =>
    `${scheme}://127.0.0.1:${server.port}/engine.io/?${new URLSearchParams({ EIO: "4", ...params })}`;

  async function wsOn(server: Server<EngineWsData>) {
    const connected = nextConnection(engine);
    const client = new WsClient(url(server, { transport: "websocket" }, "ws"));
    await client.next();
    return { client, socket: await connected };
  }
  const silentFor = (client: WsClient, ms: number) =>
    client.next(ms).then(
      (frame) => frame,
      () => null,
    );

  test("a polling request first, on the second server, then websockets on both: a publish reaches all", async () => {
    const polled = nextConnection(engine);
    const res = await fetch(url(second, { transport: "polling" }));
    expect(res.status).toBe(200);
    const pollingSocket = await polled;
    pollingSocket.subscribe("room");

    const onFirst = await wsOn(first);
    const onSecond = await wsOn(second);
    onFirst.socket.subscribe("room");
    onSecond.socket.subscribe("room");
    expect(engine.subscriberCount("room")).toBe(3);

    engine.publish("room", "to-all");
    expect(await onFirst.client.next()).toBe("4to-all");
    expect(await onSecond.client.next()).toBe("4to-all");
    const sid = pollingSocket.id;
    expect(await (await fetch(url(second, { transport: "polling", sid }))).text()).toBe("4to-all");

    engine.publish("room", "not-first", { except: onFirst.socket });
    engine.publish("room", "not-second", { except: onSecond.socket });
    expect(await onFirst.client.next()).toBe("4not-second");
    expect(await onSecond.client.next()).toBe("4not-first");
    expect(await silentFor(onFirst.client, 50)).toBeNull();
    expect(await silentFor(onSecond.client, 50)).toBeNull();
    onFirst.client.close();
    onSecond.client.close();
    pollingSocket.close();
  });
});
