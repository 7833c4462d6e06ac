/**
 * The `parser` option with socket.io-msgpack-parser: the whole behavioural suite (events, acks,
 * binary, broadcasts, rooms, namespaces, middlewares, recovery) with the stock client configured
 * with the same parser, over websocket only, polling only and upgrade; plus what only this parser
 * shows (frames are msgpack binary, a broadcast is encoded once, CONNECT_ERROR decodes).
 */
import { afterEach, describe, expect, test } from "bun:test";
import * as msgpackParser from "socket.io-msgpack-parser";
import type { Parser } from "../../../protocol/index.ts";
import { socketBehaviourSuite } from "./behaviour.ts";
import { Harness, next, TRANSPORTS } from "./support.ts";

const parser = msgpackParser as unknown as Parser;
const variant = {
  label: "socket.io-msgpack-parser",
  serverOptions: () => ({ parser }),
  clientOptions: { parser: msgpackParser },
};

for (const transport of Object.values(TRANSPORTS)) socketBehaviourSuite(transport, variant);

describe("socket.io-msgpack-parser specifics", () => {
  const harnesses: Harness[] = [];
  const start = (transport = TRANSPORTS.websocket) => {
    const h = new Harness(transport, { parser }, { parser: msgpackParser });
    harnesses.push(h);
    return h;
  };
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((h) => h.close()));
  });

  test("packets travel as msgpack binary frames", async () => {
    const h = start();
    h.io.on("connection", (socket) => socket.emit("hello", "world"));
    const client = h.client();
    const frames: unknown[] = [];
    client.io.engine.on("packet", (packet: { type: string; data?: unknown }) => {
      if (packet.type === "message") frames.push(packet.data);
    });
    expect(await next(client, "hello")).toEqual(["world"]);
    expect(frames.length).toBeGreaterThan(0);
    for (const frame of frames) expect(frame instanceof ArrayBuffer || ArrayBuffer.isView(frame)).toBe(true);
  });

  test("a broadcast is encoded once for every receiver", async () => {
    const h = start();
    const [a, b, c] = await Promise.all([h.connected(), h.connected(), h.connected()]);
    let encodes = 0;
    const encode = h.io._codec.encode;
    h.io._codec.encode = (packet) => {
      encodes++;
      return encode(packet);
    };
    const heard = Promise.all([a, b, c].map((s) => next(s, "news")));
    h.io.emit("news", { n: 1 });
    expect(await heard).toEqual([[{ n: 1 }], [{ n: 1 }], [{ n: 1 }]]);
    expect(encodes).toBe(1);
  });

  for (const transport of Object.values(TRANSPORTS)) {
    test(`a middleware refusal reaches the client as connect_error with message and data (${transport.name})`, async () => {
      const h = start(transport);
      h.io.use((_socket, nextFn) => nextFn(Object.assign(new Error("no entry"), { data: { retry: false } })));
      const [err] = await next<[Error & { data?: unknown }]>(h.client(), "connect_error");
      expect(err.message).toBe("no entry");
      expect(err.data).toEqual({ retry: false });
    });

    test(`an unknown namespace is refused with Invalid namespace (${transport.name})`, async () => {
      const h = start(transport);
      const [err] = await next<[Error]>(h.client("/nowhere"), "connect_error");
      expect(err.message).toBe("Invalid namespace");
    });
  }

  test("a frame the msgpack decoder refuses closes the connection as a parse error", async () => {
    const h = start();
    const client = await h.connected();
    const socket = h.serverSocket(client);
    const reason = next(socket, "disconnect");
    // A text frame is not msgpack.
    client.io.engine.write('2["x"]');
    expect((await reason)[0]).toBe("parse error");
  });
});
