import { afterAll, describe, expect, test } from "bun:test";
import type { EngineSocket, RawData } from "../../../protocol/engine/index.ts";
import { get, handshake, nextClose, nextConnection, post, startEngine, type TestEngine } from "./helpers.ts";

/** A polling session opened with the open packet already read. */
async function openSession(t: TestEngine): Promise<{ sid: string; socket: EngineSocket; url: string }> {
  const connected = nextConnection(t.engine);
  const { sid } = await handshake(t);
  const socket = await connected;
  return { sid, socket, url: t.url({ transport: "polling", sid }) };
}

describe("engine polling transport", () => {
  const t = startEngine({ maxHttpBufferSize: 1000, httpCompression: false });
  afterAll(() => t.close());

  test("queued packets are batched in one GET, joined by \\x1e", async () => {
    const { socket, url } = await openSession(t);
    socket.send("one");
    socket.send("two");
    socket.sendMany(["three", "four"]);
    const res = await get(url);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=UTF-8");
    expect(await res.text()).toBe("4one\x1e4two\x1e4three\x1e4four");
  });

  test("a waiting GET is answered as soon as a packet is sent", async () => {
    const { socket, url } = await openSession(t);
    const pending = get(url);
    await Bun.sleep(30);
    expect(socket.writable).toBe(true);
    socket.send("late");
    expect(await (await pending).text()).toBe("4late");
    expect(socket.writable).toBe(false);
  });

  test("binary goes out as b + base64", async () => {
    const { socket, url } = await openSession(t);
    socket.send(new Uint8Array([1, 2, 3, 255]));
    socket.send("txt");
    expect(await (await get(url)).text()).toBe("bAQID/w==\x1e4txt");
  });

  test("a POST with several packets (text and base64 binary) is answered ok and delivered in order", async () => {
    const { socket, url } = await openSession(t);
    const got: RawData[] = [];
    socket.on("message", (d) => got.push(d));
    const res = await post(url, "4hello\x1ebAQID\x1e4€ and ✓\x1e6");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html");
    expect(await res.text()).toBe("ok");
    expect(got).toEqual(["hello", new Uint8Array([1, 2, 3]), "€ and ✓"]);
  });

  test("a second concurrent GET is a 400; the session closes with 'transport error' and the first GET gets the close packet", async () => {
    const { socket, url } = await openSession(t);
    const closed = nextClose(socket);
    const first = get(url);
    await Bun.sleep(30);
    const second = await get(url);
    expect(second.status).toBe(400);
    expect(await (await first).text()).toBe("1");
    const { reason } = await closed;
    expect(reason).toBe("transport error");
    expect(t.engine.clients.has(socket.id)).toBe(false);
  });

  test("a POST body over maxHttpBufferSize is a 413 and closes the session", async () => {
    const { socket, url } = await openSession(t);
    const closed = nextClose(socket);
    const res = await post(url, `4${"x".repeat(2000)}`);
    expect(res.status).toBe(413);
    expect((await closed).reason).toBe("transport error");
    const after = await get(url);
    expect(await after.json()).toEqual({ code: 1, message: "Session ID unknown" });
  });

  test("an oversized streamed body (no Content-Length) is refused as well", async () => {
    const { socket, url } = await openSession(t);
    const closed = nextClose(socket);
    const chunks = [`4${"y".repeat(600)}`, "y".repeat(600)];
    const body = new ReadableStream({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const res = await post(url, body);
    expect(res.status).toBe(413);
    expect((await closed).reason).toBe("transport error");
  });

  test("a malformed payload closes the session with 'parse error' after the valid packets before it", async () => {
    const { socket, url } = await openSession(t);
    const got: RawData[] = [];
    socket.on("message", (d) => got.push(d));
    const closed = nextClose(socket);
    const res = await post(url, "4ok\x1ezzz\x1e4never");
    expect(res.status).toBe(200);
    expect((await closed).reason).toBe("parse error");
    expect(got).toEqual(["ok"]);
  });

  test("a binary POST body (application/octet-stream) is refused in protocol v4", async () => {
    const { socket, url } = await openSession(t);
    const closed = nextClose(socket);
    const res = await post(url, new Uint8Array([4, 1, 2]), {
      headers: { "content-type": "application/octet-stream" },
    });
    expect(res.status).toBe(400);
    expect((await closed).reason).toBe("transport error");
  });

  test("a close packet from the client closes the session with 'transport close'", async () => {
    const { socket, url } = await openSession(t);
    const closed = nextClose(socket);
    expect(await (await post(url, "1")).text()).toBe("ok");
    expect((await closed).reason).toBe("transport close");
  });

  test("socket.close() delivers what is queued on the next GET, then a noop and the close packet on the GET after it (engine.io's 6␞1)", async () => {
    // The stock client acts on a close packet at once but dispatches the packets decoded with it a
    // tick later: in one answer, the last messages would arrive after the close (engine.io splits them too).
    const { socket, url } = await openSession(t);
    const closed = nextClose(socket);
    socket.subscribe("room-close-queued");
    expect(t.engine.subscriberCount("room-close-queued")).toBe(1);
    socket.send("bye");
    socket.send("really");
    socket.close();
    expect(socket.state).toBe("closing");
    // A closing session takes no publishes and no sends.
    expect(t.engine.subscriberCount("room-close-queued")).toBe(0);
    t.engine.publish("room-close-queued", "late publish");
    socket.send("late send");
    expect(await (await get(url)).text()).toBe("4bye\x1e4really");
    expect(socket.state).toBe("closing");
    expect(await (await get(url)).text()).toBe("6\x1e1");
    expect((await closed).reason).toBe("forced close");
    expect(socket.state).toBe("closed");
    expect(t.engine.clients.has(socket.id)).toBe(false);
    expect(await (await get(url)).json()).toEqual({ code: 1, message: "Session ID unknown" });
  });

  test("socket.close() with a GET waiting and nothing queued answers it with the close packet at once", async () => {
    const { socket, url } = await openSession(t);
    const closed = nextClose(socket);
    const pending = get(url);
    await Bun.sleep(30);
    socket.close();
    expect(await (await pending).text()).toBe("1");
    expect((await closed).reason).toBe("forced close");
    expect(t.engine.clients.has(socket.id)).toBe(false);
  });

  test("socket.close() with a GET waiting: the queue it just took is followed by the close packet on the next GET", async () => {
    const { socket, url } = await openSession(t);
    const closed = nextClose(socket);
    const pending = get(url);
    await Bun.sleep(30);
    socket.sendMany(["a", "b"]);
    socket.close();
    expect(await (await pending).text()).toBe("4a\x1e4b");
    expect(await (await get(url)).text()).toBe("6\x1e1");
    expect((await closed).reason).toBe("forced close");
  });

  test("a client that drops its GET closes the session with 'transport error'", async () => {
    const { socket, url } = await openSession(t);
    const closed = nextClose(socket);
    const abort = new AbortController();
    const pending = get(url, { signal: abort.signal }).catch(() => "aborted");
    await Bun.sleep(30);
    abort.abort();
    expect(await pending).toBe("aborted");
    const { reason, description } = await closed;
    expect(reason).toBe("transport error");
    expect((description as Error).message).toBe("poll connection closed prematurely");
  });

  test("'drain' fires when queued packets are handed to a poll", async () => {
    const { socket, url } = await openSession(t);
    let drains = 0;
    socket.on("drain", () => drains++);
    socket.send("queued");
    expect(drains).toBe(0);
    expect(await (await get(url)).text()).toBe("4queued");
    expect(drains).toBe(1);
  });

  test("sends after close are dropped without throwing", async () => {
    const { socket } = await openSession(t);
    socket.close();
    expect(() => socket.send("x")).not.toThrow();
  });
});
