import { afterAll, describe, expect, test } from "bun:test";
import { get, handshake, nextClose, nextConnection, post, startEngine, WsClient } from "./helpers.ts";

describe("engine heartbeat", () => {
  // A wide pong deadline: a loaded CI machine must not turn a slow pong into a failure.
  const t = startEngine({ pingInterval: 80, pingTimeout: 400 });
  afterAll(() => t.close());

  test("the server pings every pingInterval and a client that answers stays connected", async () => {
    const connected = nextConnection(t.engine);
    const ws = new WsClient(t.url({ transport: "websocket" }, "ws"));
    await ws.next();
    const socket = await connected;
    for (let i = 0; i < 4; i++) {
      expect(await ws.next(1000)).toBe("2");
      ws.send("3");
    }
    expect(socket.state).toBe("open");
    ws.close();
  });

  test("no pong within pingTimeout closes with 'ping timeout'", async () => {
    const connected = nextConnection(t.engine);
    const ws = new WsClient(t.url({ transport: "websocket" }, "ws"));
    await ws.next();
    const socket = await connected;
    const closed = nextClose(socket, 2000);
    expect(await ws.next(1000)).toBe("2");
    const pingedAt = Date.now();
    expect((await closed).reason).toBe("ping timeout");
    expect(Date.now() - pingedAt).toBeGreaterThanOrEqual(350);
    await ws.waitClosed();
  });

  test("over polling the ping comes in a GET and the pong in a POST", async () => {
    const connected = nextConnection(t.engine);
    const { sid } = await handshake(t);
    const socket = await connected;
    const url = t.url({ transport: "polling", sid });
    for (let i = 0; i < 3; i++) {
      expect(await (await get(url)).text()).toBe("2");
      expect(await (await post(url, "3")).text()).toBe("ok");
    }
    expect(socket.state).toBe("open");
    const closed = nextClose(socket, 2000);
    expect((await closed).reason).toBe("ping timeout");
  });
});

describe("engine heartbeat pong wait", () => {
  const t = startEngine({ pingInterval: 50, pingTimeout: 300 });
  afterAll(() => t.close());

  test("another packet while a pong is awaited extends the wait (engine.io refreshes it once)", async () => {
    const connected = nextConnection(t.engine);
    const ws = new WsClient(t.url({ transport: "websocket" }, "ws"));
    await ws.next();
    const socket = await connected;
    expect(await ws.next(1000)).toBe("2");
    await Bun.sleep(200);
    ws.send("4busy"); // restarts the 300 ms pong wait
    await Bun.sleep(200); // 400 ms after the ping: open only thanks to the extension
    expect(socket.state).toBe("open");
    ws.send("3");
    expect(await ws.next(1000)).toBe("2");
    ws.close();
  });
});
