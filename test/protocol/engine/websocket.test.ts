import { afterAll, describe, expect, test } from "bun:test";
import type { RawData } from "../../../protocol/engine/index.ts";
import { nextClose, nextConnection, startEngine, type TestEngine, WsClient } from "./helpers.ts";

async function openWs(t: TestEngine) {
  const connected = nextConnection(t.engine);
  const client = new WsClient(t.url({ transport: "websocket" }, "ws"));
  await client.opened;
  await client.next(); // open packet
  return { client, socket: await connected };
}

describe("engine websocket transport", () => {
  const t = startEngine({ maxHttpBufferSize: 1000 });
  afterAll(() => t.close());

  test("text messages are '4' + text frames; binary messages are raw binary frames without prefix", async () => {
    const { client, socket } = await openWs(t);
    const got: RawData[] = [];
    socket.on("message", (d) => got.push(d));
    client.send("4hello");
    client.send(new Uint8Array([9, 8, 7]));
    await Bun.sleep(50);
    expect(got).toEqual(["hello", new Uint8Array([9, 8, 7])]);
    socket.send("out");
    socket.send(new Uint8Array([1, 2]));
    socket.sendMany(["a", new Uint8Array([3])]);
    expect(await client.next()).toBe("4out");
    expect(await client.next()).toEqual(new Uint8Array([1, 2]));
    expect(await client.next()).toBe("4a");
    expect(await client.next()).toEqual(new Uint8Array([3]));
    client.close();
  });

  test("an empty binary message is sent as an empty binary frame and the session stays open", async () => {
    // Bun's ws.send answers 0 (bytes written) for an empty frame: that is not a dropped frame.
    const { client, socket } = await openWs(t);
    socket.send(new Uint8Array([1]));
    socket.send(new Uint8Array(0));
    socket.sendMany([new Uint8Array(0), "after"]);
    expect(await client.next()).toEqual(new Uint8Array([1]));
    expect(await client.next()).toEqual(new Uint8Array(0));
    expect(await client.next()).toEqual(new Uint8Array(0));
    expect(await client.next()).toBe("4after");
    expect(socket.state).toBe("open");
    const got: RawData[] = [];
    socket.on("message", (d) => got.push(d));
    client.send(new Uint8Array(0));
    client.send("4in");
    await Bun.sleep(30);
    expect(got).toEqual([new Uint8Array(0), "in"]);
    client.close();
  });

  test("a frame over maxHttpBufferSize closes the session", async () => {
    const { client, socket } = await openWs(t);
    const closed = nextClose(socket);
    client.send(`4${"x".repeat(2000)}`);
    expect((await client.waitClosed()).code).toBe(1009);
    expect((await closed).reason).toBe("transport error");
  });

  test("garbage frames close the session with 'parse error'", async () => {
    const { client, socket } = await openWs(t);
    const closed = nextClose(socket);
    client.send("xyz");
    expect((await closed).reason).toBe("parse error");
    await client.waitClosed();
  });

  test("a client ping is the wrong heartbeat direction in v4: 'transport error'", async () => {
    const { client, socket } = await openWs(t);
    const closed = nextClose(socket);
    client.send("2");
    expect((await closed).reason).toBe("transport error");
    client.close();
  });

  test("the client closing the websocket closes the session with 'transport close'", async () => {
    const { client, socket } = await openWs(t);
    const closed = nextClose(socket);
    client.close();
    expect((await closed).reason).toBe("transport close");
    expect(t.engine.clients.has(socket.id)).toBe(false);
  });

  test("socket.close() closes the websocket and reports 'forced close'", async () => {
    const { client, socket } = await openWs(t);
    const closed = nextClose(socket);
    socket.send("last");
    socket.close();
    expect((await closed).reason).toBe("forced close");
    expect(await client.next()).toBe("4last");
    await client.waitClosed();
  });

  test("a second websocket for a websocket session is accepted and closed at once, as engine.io does", async () => {
    const { client, socket } = await openWs(t);
    const second = new WsClient(t.url({ transport: "websocket", sid: socket.id }, "ws"));
    await second.opened;
    await second.waitClosed();
    expect(socket.state).toBe("open");
    expect(socket.transportName).toBe("websocket");
    client.close();
  });
});
