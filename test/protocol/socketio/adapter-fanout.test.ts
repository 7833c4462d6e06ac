/**
 * The in-memory adapter: rooms bookkeeping and its events, topic subscriptions, and which
 * broadcasts take the native fan-out (one engine publish) and which the per-socket path, always
 * with the frames encoded once.
 */
import { afterAll, beforeAll, describe, expect, spyOn, test } from "bun:test";
import type { Socket as ClientSocket } from "socket.io-client";
import { namespaceTopic, roomTopic, type Socket } from "../../../protocol/index.ts";
import { encodePacket } from "../../../protocol/socketio/packet-codec.ts";
import { Harness, next, sleep, TRANSPORTS, WAIT_MS, withTimeout } from "./support.ts";

let h: Harness;
let clients: ClientSocket[];
let sockets: Socket[];

beforeAll(async () => {
  h = new Harness(TRANSPORTS.websocket);
  sockets = [];
  h.io.on("connection", (socket) => {
    sockets.push(socket);
  });
  clients = [await h.connected(), await h.connected(), await h.connected()];
  // a and b in "room", c elsewhere.
  sockets[0]!.join("room");
  sockets[1]!.join(["room", "other"]);
  sockets[2]!.join("other");
});

afterAll(async () => {
  await h.close();
});

/** Events each client received during `action`, once the marker broadcast arrived everywhere. */
async function received(action: () => void): Promise<string[][]> {
  const seen: string[][] = clients.map(() => []);
  const listeners = clients.map((client, i) => {
    const listener = (event: string) => seen[i]!.push(event);
    client.onAny(listener);
    return listener;
  });
  const done = Promise.all(clients.map((client) => next(client, "marker")));
  action();
  h.io.emit("marker");
  await done;
  clients.forEach((client, i) => {
    client.offAny(listeners[i]);
  });
  return seen.map((events) => events.filter((e) => e !== "marker"));
}

describe("native fan-out", () => {
  test("a broadcast to one room is one engine publish on the room's topic", async () => {
    const publish = spyOn(h.io.engine, "publish");
    try {
      const seen = await received(() => h.io.to("room").emit("hello", 1));
      expect(seen).toEqual([["hello"], ["hello"], []]);
      expect(publish.mock.calls[0]![0]).toBe(roomTopic("/", "room"));
      expect(publish.mock.calls[0]![1]).toEqual('2["hello",1]');
    } finally {
      publish.mockRestore();
    }
  });

  test("socket.to(room) publishes once, excluding the sender's engine session", async () => {
    const publish = spyOn(h.io.engine, "publish");
    try {
      const seen = await received(() => sockets[0]!.to("room").emit("from-a"));
      expect(seen).toEqual([[], ["from-a"], []]);
      expect(publish.mock.calls[0]![2]?.except).toBe(sockets[0]!.conn);
    } finally {
      publish.mockRestore();
    }
  });

  test("a namespace-wide broadcast is one publish on the namespace topic", async () => {
    const publish = spyOn(h.io.engine, "publish");
    try {
      const seen = await received(() => h.io.emit("all"));
      expect(seen).toEqual([["all"], ["all"], ["all"]]);
      expect(publish.mock.calls[0]![0]).toBe(namespaceTopic("/"));
    } finally {
      publish.mockRestore();
    }
  });

  test("several rooms, several exclusions, volatile and own-id rooms take the per-socket path", async () => {
    const publish = spyOn(h.io.engine, "publish");
    const writes = sockets.map((s) => spyOn(s.client, "writeToEngine"));
    try {
      const seen = await received(() => {
        h.io.to(["room", "other"]).emit("union");
        h.io.except([sockets[0]!.id, sockets[1]!.id]).emit("two-excluded");
        h.io.to(sockets[2]!.id).emit("direct");
      });
      expect(seen).toEqual([["union"], ["union"], ["union", "two-excluded", "direct"]]);
      // A turn later (a volatile packet right after others to the same client is dropped, as engine.io does).
      await new Promise((resolve) => setImmediate(resolve));
      expect(await received(() => h.io.volatile.to("room").emit("volatile"))).toEqual([
        ["volatile"],
        ["volatile"],
        [],
      ]);
      // Only the markers were published.
      expect(publish.mock.calls.every(([topic]) => topic === namespaceTopic("/"))).toBe(true);
      // The union reached each socket once, with the same frames object (encoded once).
      const unionFrames = writes.map((w) => w.mock.calls[0]![0]);
      expect(unionFrames[0]).toBe(unionFrames[1]!);
      expect(unionFrames[1]).toBe(unionFrames[2]!);
      expect(unionFrames[0]).toEqual(encodePacket({ type: 2, nsp: "/", data: ["union"] }));
    } finally {
      publish.mockRestore();
      for (const w of writes) w.mockRestore();
    }
  });

  test("an outgoing-packet listener turns the native fan-out off while it is set", async () => {
    const publish = spyOn(h.io.engine, "publish");
    const watched: string[] = [];
    const watcher = (event: string) => watched.push(event);
    sockets[0]!.onAnyOutgoing(watcher);
    try {
      await received(() => h.io.to("room").emit("watched"));
      expect(publish).not.toHaveBeenCalled();
      expect(watched).toEqual(["watched", "marker"]);
    } finally {
      sockets[0]!.offAnyOutgoing(watcher);
      publish.mockRestore();
    }
    expect(h.io.sockets._outgoingWatchers).toBe(0);
  });
});

describe("native fan-out across transports", () => {
  test("one publish reaches websocket, polling and just-upgraded members of a room alike", async () => {
    const polling = new Harness(TRANSPORTS.polling);
    try {
      const ws = await polling.connected("/", { transports: ["websocket"] });
      const poll = await polling.connected();
      const upgraded = await polling.connected("/", { transports: TRANSPORTS.upgrade.transports });
      await polling.upgraded(upgraded);
      for (const client of [ws, poll, upgraded]) polling.serverSocket(client).join("mixed");
      const publish = spyOn(polling.io.engine, "publish");
      const got = Promise.all([ws, poll, upgraded].map((client) => next(client, "news")));
      polling.io.to("mixed").emit("news", "one", new Uint8Array([1]));
      const received = await got;
      expect(publish).toHaveBeenCalledTimes(1);
      publish.mockRestore();
      for (const [text, bytes] of received as [string, Uint8Array][]) {
        expect(text).toBe("one");
        expect([...new Uint8Array(bytes)]).toEqual([1]);
      }
    } finally {
      await polling.close();
    }
  });
});

describe("rooms", () => {
  test("joining and leaving subscribe and unsubscribe the engine session and emit room events", async () => {
    const adapter = h.io.sockets.adapter;
    const events: unknown[][] = [];
    for (const name of ["create-room", "join-room", "leave-room", "delete-room"]) {
      adapter.on(name, (...args: unknown[]) => events.push([name, ...args]));
    }
    const socket = sockets[2]!;
    const subscribe = spyOn(socket.conn, "subscribe");
    const unsubscribe = spyOn(socket.conn, "unsubscribe");
    try {
      socket.join("fresh");
      expect(subscribe).toHaveBeenCalledWith(roomTopic("/", "fresh"));
      expect(adapter.rooms.get("fresh")).toEqual(new Set([socket.id]));
      socket.leave("fresh");
      expect(unsubscribe).toHaveBeenCalledWith(roomTopic("/", "fresh"));
      expect(adapter.rooms.has("fresh")).toBe(false);
      expect(events).toEqual([
        ["create-room", "fresh"],
        ["join-room", "fresh", socket.id],
        ["leave-room", "fresh", socket.id],
        ["delete-room", "fresh"],
      ]);
      expect(await adapter.sockets(new Set(["other"]))).toEqual(new Set([sockets[1]!.id, socket.id]));
      expect(adapter.socketRooms(socket.id)).toEqual(new Set([socket.id, "other"]));
    } finally {
      subscribe.mockRestore();
      unsubscribe.mockRestore();
      adapter.removeAllListeners();
    }
  });

  test("a disconnected socket leaves every room", async () => {
    const extra = await h.connected();
    const socket = h.serverSocket(extra);
    socket.join(["room", "solo"]);
    const gone = next(socket, "disconnect");
    extra.disconnect();
    await gone;
    const adapter = h.io.sockets.adapter;
    expect(adapter.rooms.has("solo")).toBe(false);
    expect(adapter.rooms.get("room")?.has(socket.id)).toBe(false);
    expect(adapter.sids.has(socket.id)).toBe(false);
  });

  test("a room's remembered topic goes with the room, and a room made again publishes on the same topic", async () => {
    const adapter = h.io.sockets.adapter;
    const topics = (adapter as unknown as { topics: Map<string, string> }).topics;
    const socket = sockets[2]!;
    socket.join("brief");
    expect(topics.get("brief")).toBe(roomTopic("/", "brief"));
    socket.leave("brief");
    expect(topics.has("brief")).toBe(false);
    socket.join("brief");
    const publish = spyOn(h.io.engine, "publish");
    try {
      expect(await received(() => h.io.to("brief").emit("again"))).toEqual([[], [], ["again"]]);
      expect(publish.mock.calls[0]![0]).toBe(roomTopic("/", "brief"));
    } finally {
      publish.mockRestore();
      socket.leave("brief");
    }
    expect(topics.has("brief")).toBe(false);
  });
});

describe("connection-state recovery storage", () => {
  test("broadcast events get an offset as their last argument, acked and volatile ones do not", async () => {
    const r = new Harness(TRANSPORTS.websocket, { connectionStateRecovery: {} });
    try {
      const client = await r.connected();
      const plain = next(client, "plain");
      r.io.emit("plain", 1);
      const [value, offset] = await plain;
      expect(value).toBe(1);
      expect(typeof offset).toBe("string");
      const direct = next(client, "direct");
      r.serverSocket(client).emit("direct", 2);
      expect((await direct).length).toBe(2);
      const vol = next(client, "vol");
      r.io.volatile.emit("vol", 3);
      expect(await vol).toEqual([3]);
      client.on("ask", (ack: (x: number) => void) => ack(4));
      expect(await withTimeout(r.io.timeout(WAIT_MS).emitWithAck("ask"), "acks")).toEqual([4]);
      await sleep(0);
    } finally {
      await r.close();
    }
  });
});
