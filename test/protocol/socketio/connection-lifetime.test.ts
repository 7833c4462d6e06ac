/**
 * No socket outlives its connection. socket.io 4.8 keeps every socket a session's CONNECT packets
 * created in its Client and closes them all with it: several CONNECTs for one namespace, sent while
 * the first is still in an async middleware, each become a socket, and once the connection is gone
 * none of them remains in a namespace, a room or the adapter. A CONNECT for a namespace the session
 * already joined is an invalid state that closes the connection (client.ts `ondecoded`).
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Namespace, Server } from "../../../protocol/index.ts";
import { RawClient } from "./raw-client.ts";
import { Harness, sleep, TRANSPORTS, withTimeout } from "./support.ts";

const harnesses: Harness[] = [];
const raws: RawClient[] = [];

afterEach(async () => {
  for (const raw of raws.splice(0)) raw.close();
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});

function setup(): Harness {
  const h = new Harness(TRANSPORTS.websocket);
  harnesses.push(h);
  return h;
}

async function raw(h: Harness): Promise<RawClient> {
  const client = await RawClient.connect(h.port);
  raws.push(client);
  return client;
}

/** Counts connections and disconnections of a namespace. */
function lifecycle(nsp: Namespace) {
  const counts = { connected: 0, disconnected: 0 };
  nsp.on("connection", (socket) => {
    counts.connected++;
    socket.join("lobby");
    socket.on("disconnect", () => counts.disconnected++);
  });
  return counts;
}

/** A middleware that lets the socket in after `ms`, as an async auth check does. */
function slowMiddleware(ms: number) {
  return async (_socket: unknown, next: (err?: Error) => void) => {
    await sleep(ms);
    next();
  };
}

/**
 * A middleware that holds every CONNECT until `count` of them reached it (or `boundMs` passed):
 * whatever the machine's load, no socket of a round connects before all its CONNECTs were decoded,
 * so a late CONNECT never meets an already-joined namespace (which closes the connection).
 */
function gatheringMiddleware(count: number, boundMs = 2000) {
  let waiting: (() => void)[] = [];
  return async (_socket: unknown, next: (err?: Error) => void) => {
    await new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length >= count) {
        for (const release of waiting) release();
        waiting = [];
      } else setTimeout(resolve, boundMs);
    });
    next();
  };
}

/** Resolves once the engine holds no session (the server side of every close has run). */
async function engineEmpty(io: Server): Promise<void> {
  await withTimeout(
    (async () => {
      while (io.engine.clientsCount > 0) await sleep(5);
    })(),
    "every engine session to close",
    10_000,
  );
}

function expectNothingLeft(nsp: Namespace): void {
  expect(nsp.sockets.size).toBe(0);
  expect(nsp.adapter.rooms.size).toBe(0);
  expect(nsp.adapter.sids.size).toBe(0);
}

describe("several CONNECTs on one session", () => {
  test("each CONNECT sent while the first is in an async middleware becomes a socket, and all close with the connection", async () => {
    const h = setup();
    h.io.use(slowMiddleware(30));
    const counts = lifecycle(h.io.sockets);
    const client = await raw(h);
    for (let i = 0; i < 5; i++) client.send("0");
    const sids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const answer = (await client.packet()) as string;
      expect(answer.startsWith('0{"sid":"')).toBe(true);
      sids.add(JSON.parse(answer.slice(1)).sid);
    }
    // As socket.io: five sockets, all connected, all in the namespace.
    expect(sids.size).toBe(5);
    expect(h.io.sockets.sockets.size).toBe(5);
    client.close();
    await engineEmpty(h.io);
    expect(counts).toEqual({ connected: 5, disconnected: 5 });
    expectNothingLeft(h.io.sockets);
  });

  test("hundreds of repetitions with an async middleware leave nothing in any namespace, room or adapter", async () => {
    const h = setup();
    const rounds = 20;
    const perRound = 25;
    h.io.use(gatheringMiddleware(perRound));
    const chat = h.io.of("/chat");
    chat.use(gatheringMiddleware(perRound));
    const main = lifecycle(h.io.sockets);
    const other = lifecycle(chat);
    for (let round = 0; round < rounds; round++) {
      const client = await raw(h);
      for (let i = 0; i < perRound; i++) {
        client.send("0");
        client.send("0/chat,");
      }
      // Half the rounds close while the middlewares still run, half once every socket connected.
      if (round % 2 === 1) for (let i = 0; i < 2 * perRound; i++) await client.packet();
      client.close();
    }
    await engineEmpty(h.io);
    // Pending middlewares finish after the close: their sockets must be dropped, not connected.
    await sleep(50);
    expect(main.connected).toBe(main.disconnected);
    expect(other.connected).toBe(other.disconnected);
    expect(main.connected).toBeGreaterThan(0);
    expectNothingLeft(h.io.sockets);
    expectNothingLeft(chat);
  });

  test("a CONNECT for a namespace the session already joined closes the connection, as socket.io does", async () => {
    const h = setup();
    const counts = lifecycle(h.io.sockets);
    const client = await raw(h);
    client.send("0");
    expect(((await client.packet()) as string).startsWith("0")).toBe(true);
    client.send("0");
    await client.waitClosed();
    await engineEmpty(h.io);
    expect(counts).toEqual({ connected: 1, disconnected: 1 });
    expectNothingLeft(h.io.sockets);
  });

  test("events go to the socket that connected last, as socket.io routes them", async () => {
    const h = setup();
    h.io.use(slowMiddleware(20));
    const heard: string[] = [];
    h.io.on("connection", (socket) => socket.on("who", () => heard.push(socket.id)));
    const client = await raw(h);
    client.send("0");
    client.send("0");
    await client.packet();
    const last = JSON.parse(((await client.packet()) as string).slice(1)).sid;
    client.send('2["who"]');
    await withTimeout(
      (async () => {
        while (heard.length === 0) await sleep(2);
      })(),
      "the event",
    );
    expect(heard).toEqual([last]);
  });
});
