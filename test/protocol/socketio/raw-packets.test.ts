/**
 * Socket.IO v5 packets byte for byte, from a bare websocket: CONNECT answers, CONNECT_ERROR shapes,
 * namespace prefixes, ack ids, binary placeholders, and the packets that close the connection.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { ServerOptions, Socket } from "../../../protocol/index.ts";
import { RawClient } from "./raw-client.ts";
import { Harness, next, TRANSPORTS } from "./support.ts";

const harnesses: Harness[] = [];
const raws: RawClient[] = [];

async function setup(opts: ServerOptions = {}) {
  const h = new Harness(TRANSPORTS.websocket, opts);
  harnesses.push(h);
  const raw = await RawClient.connect(h.port);
  raws.push(raw);
  return { h, raw };
}

afterEach(async () => {
  for (const raw of raws.splice(0)) raw.close();
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});

const SID = /^[A-Za-z0-9_-]{20}$/;

describe("CONNECT", () => {
  test('CONNECT to "/" is answered 0{"sid":...}', async () => {
    const { h, raw } = await setup();
    raw.send("0");
    const answer = (await raw.packet()) as string;
    expect(answer.startsWith('0{"sid":"')).toBe(true);
    const { sid } = JSON.parse(answer.slice(1));
    expect(sid).toMatch(SID);
    expect(sid).not.toBe(raw.open?.sid);
    expect(h.io.sockets.sockets.has(sid)).toBe(true);
  });

  test("with connection-state recovery the answer also carries a pid", async () => {
    const { raw } = await setup({ connectionStateRecovery: {} });
    raw.send("0");
    const answer = JSON.parse(((await raw.packet()) as string).slice(1));
    expect(Object.keys(answer)).toEqual(["sid", "pid"]);
    expect(answer.pid).toMatch(SID);
  });

  test("the CONNECT payload becomes handshake.auth", async () => {
    const { h, raw } = await setup();
    const connection = next<[Socket]>(h.io, "connection");
    raw.send('0{"token":"abc","n":1}');
    const [socket] = await connection;
    expect(socket.handshake.auth).toEqual({ token: "abc", n: 1 });
  });

  test("a namespace other than / is written before the payload", async () => {
    const { h, raw } = await setup();
    h.io.of("/chat");
    raw.send("0/chat,");
    const answer = (await raw.packet()) as string;
    expect(answer).toMatch(/^0\/chat,\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
  });

  test('an unknown namespace gets 4/nope,{"message":"Invalid namespace"}', async () => {
    const { raw } = await setup();
    raw.send("0/nope,");
    expect(await raw.packet()).toBe('4/nope,{"message":"Invalid namespace"}');
  });

  test("a middleware refusal gets CONNECT_ERROR with message and data", async () => {
    const { h, raw } = await setup();
    h.io.use((_socket, nextFn) => nextFn(Object.assign(new Error("no entry"), { data: { retry: false } })));
    raw.send("0");
    expect(await raw.packet()).toBe('4{"message":"no entry","data":{"retry":false}}');
    h.io.of("/plain").use((_socket, nextFn) => nextFn(new Error("plain")));
    raw.send("0/plain,");
    expect(await raw.packet()).toBe('4/plain,{"message":"plain"}');
  });

  test("a session that never connects a namespace is closed after connectTimeout", async () => {
    const { raw } = await setup({ connectTimeout: 100 });
    await raw.waitClosed();
  });
});

describe("events and acks", () => {
  async function connected(opts: ServerOptions = {}, nsp = "/") {
    const { h, raw } = await setup(opts);
    const connection = next<[Socket]>(h.io.of(nsp), "connection");
    raw.send(nsp === "/" ? "0" : `0${nsp},`);
    await raw.packet();
    const [socket] = await connection;
    return { h, raw, socket };
  }

  test("an event with an ack id is answered with 3<id>[...]", async () => {
    const { raw, socket } = await connected();
    socket.on("sum", (a: number, b: number, ack: (n: number) => void) => ack(a + b));
    raw.send('221["sum",1,2]');
    expect(await raw.packet()).toBe("321[3]");
  });

  test("in a namespace the ack id sits between the namespace and the payload", async () => {
    const { raw, socket } = await connected({}, "/chat");
    socket.on("sum", (a: number, b: number, ack: (n: number) => void) => ack(a + b));
    raw.send('2/chat,7["sum",4,5]');
    expect(await raw.packet()).toBe("3/chat,7[9]");
  });

  test("server emits carry increasing ack ids and the client's ACK reaches the callback", async () => {
    const { raw, socket } = await connected();
    socket.emit("plain", 1);
    expect(await raw.packet()).toBe('2["plain",1]');
    const answers: unknown[] = [];
    socket.emit("q", "a", (x: unknown) => answers.push(x));
    socket.emit("q", "b", (x: unknown) => answers.push(x));
    expect(await raw.packet()).toBe('20["q","a"]');
    expect(await raw.packet()).toBe('21["q","b"]');
    raw.send('31["B"]');
    raw.send('30["A"]');
    raw.send('2["sync"]');
    await next(socket, "sync");
    expect(answers).toEqual(["B", "A"]);
  });

  test("binary goes out as a placeholder packet followed by its attachment", async () => {
    const { raw, socket } = await connected();
    socket.emit("bin", { file: new Uint8Array([1, 2, 3]) });
    expect(await raw.packet()).toBe('51-["bin",{"file":{"_placeholder":true,"num":0}}]');
    expect([...((await raw.packet()) as Uint8Array)]).toEqual([1, 2, 3]);
  });

  test("incoming binary is reassembled from its placeholders, in order", async () => {
    const { raw, socket } = await connected();
    const got = next<[Buffer, Buffer]>(socket, "up");
    raw.send('52-["up",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]');
    raw.send(new Uint8Array([10]));
    raw.send(new Uint8Array([20, 21]));
    const [first, second] = await got;
    expect([...first]).toEqual([20, 21]);
    expect([...second]).toEqual([10]);
    expect(Buffer.isBuffer(first)).toBe(true);
  });

  test("a binary ack is 6<n>-<id>[...]", async () => {
    const { raw, socket } = await connected();
    socket.on("get", (ack: (b: Uint8Array) => void) => ack(new Uint8Array([7])));
    raw.send('25["get"]');
    expect(await raw.packet()).toBe('61-5[{"_placeholder":true,"num":0}]');
    expect([...((await raw.packet()) as Uint8Array)]).toEqual([7]);
  });

  test("a broadcast with an ack gives every receiver the same packet id and collects both answers", async () => {
    const { h, raw } = await connected();
    const second = await RawClient.connect(h.port);
    raws.push(second);
    second.send("0");
    await second.packet();
    const answers = h.io.timeout(3000).emitWithAck("vote");
    const [first, other] = [await raw.packet(), await second.packet()];
    expect(first).toBe(other);
    const id = /^2(\d+)\["vote"\]$/.exec(first as string)?.[1];
    expect(id).toBeDefined();
    raw.send(`3${id}["yes"]`);
    second.send(`3${id}["no"]`);
    expect(((await answers) as string[]).sort()).toEqual(["no", "yes"]);
  });

  test("DISCONNECT from the client is 'client namespace disconnect'", async () => {
    const { raw, socket } = await connected();
    const reason = next(socket, "disconnect");
    raw.send("1");
    expect((await reason)[0]).toBe("client namespace disconnect");
  });
});

describe("malformed packets close the connection as a parse error", () => {
  const cases: [string, (raw: RawClient) => void, ServerOptions?][] = [
    ["bad JSON", (raw) => raw.send('2["x"')],
    ["an unknown packet type", (raw) => raw.send("9")],
    ["a reserved event name", (raw) => raw.send('2["connect"]')],
    ["an event that is not an array", (raw) => raw.send('2{"a":1}')],
    ["more attachments than the default cap (10)", (raw) => raw.send('511-["x"]')],
    ["more attachments than maxAttachments", (raw) => raw.send('53-["x"]'), { maxAttachments: 2 }],
    // socket.io-parser 4.2.7: a binary packet must announce at least one attachment.
    ["a binary event that declares 0 attachments", (raw) => raw.send('50-["x"]')],
    ["a binary ack that declares 0 attachments", (raw) => raw.send("60-1[]")],
    ["a negative attachment count", (raw) => raw.send('5-1-["x"]')],
    ["a binary frame with no binary packet pending", (raw) => raw.send(new Uint8Array([1]))],
    [
      "text while attachments are pending",
      (raw) => {
        raw.send('51-["x",{"_placeholder":true,"num":0}]');
        raw.send('2["y"]');
      },
    ],
  ];
  for (const [name, send, opts] of cases) {
    test(name, async () => {
      const { h, raw } = await setup(opts);
      const connection = next<[Socket]>(h.io, "connection");
      raw.send("0");
      await raw.packet();
      const [socket] = await connection;
      const reason = next(socket, "disconnect");
      send(raw);
      expect((await reason)[0]).toBe("parse error");
      await raw.waitClosed();
      // The server stays up: a new client connects.
      const other = await RawClient.connect(h.port);
      raws.push(other);
      other.send("0");
      expect(((await other.packet()) as string).startsWith('0{"sid":')).toBe(true);
    });
  }

  test("an event for a namespace the client did not join closes the connection", async () => {
    const { h, raw } = await setup();
    const connection = next<[Socket]>(h.io, "connection");
    raw.send("0");
    await raw.packet();
    const [socket] = await connection;
    const reason = next(socket, "disconnect");
    raw.send('2/elsewhere,["x"]');
    expect((await reason)[0]).toBe("forced server close");
    await raw.waitClosed();
  });
});
