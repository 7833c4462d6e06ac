/**
 * One cluster, three servers: two Switchboard nodes (one reading per-room channels, one reading
 * the pattern like the official adapter) and an official socket.io 4.8 node with the official
 * @socket.io/redis-adapter, in its own Node.js process. Stock clients on each. Every cluster
 * operation is run from both kinds of node; the official emitter joins in from another process.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createClient } from "redis";
import { ClusterTimeoutError } from "../../protocol/adapter/redis/index.ts";
import { hasRedis, TEST_REDIS_URL } from "../support/services.ts";
import {
  type RecordingClient,
  recordingClient,
  type SwitchboardNode,
  startSwitchboardNode,
} from "./harness.ts";
import { OfficialNode, runEmitter, uniqueKey, waitFor } from "./support.ts";

setDefaultTimeout(15_000);
const redisUp = await hasRedis();
const key = uniqueKey("interop");
const REQUEST_TIMEOUT_MS = 1000;

let sb1: SwitchboardNode;
let sb2: SwitchboardNode;
let official: OfficialNode;
/** a: Switchboard 1 (websocket); b: Switchboard 2 (polling); c: official (websocket). */
let a: RecordingClient;
let b: RecordingClient;
let c: RecordingClient;
let aAdmin: RecordingClient;
let cAdmin: RecordingClient;
const extra: RecordingClient[] = [];

/** Every client has seen `marker` (broadcast after the event under test, so anything sent before it has arrived). */
async function settle(from: SwitchboardNode = sb1): Promise<void> {
  const marker = `m${Math.random()}`;
  from.io.emit("marker", marker);
  from.io.of("/admin").emit("marker", marker);
  await waitFor("marker everywhere", () =>
    [a, b, c, aAdmin, cAdmin].every((client) => client.got("marker").some(([m]) => m === marker)),
  );
}

describe.skipIf(!redisUp)("a mixed Switchboard + official socket.io cluster", () => {
  beforeAll(async () => {
    [sb1, sb2, official] = await Promise.all([
      startSwitchboardNode("sb1", TEST_REDIS_URL, {
        key,
        subscriptionMode: "rooms",
        requestsTimeout: REQUEST_TIMEOUT_MS,
      }),
      startSwitchboardNode("sb2", TEST_REDIS_URL, {
        key,
        subscriptionMode: "pattern",
        requestsTimeout: REQUEST_TIMEOUT_MS,
      }),
      OfficialNode.start(TEST_REDIS_URL, key),
    ]);
    [a, b, c, aAdmin, cAdmin] = await Promise.all([
      recordingClient(sb1.url),
      recordingClient(sb2.url, { transports: ["polling"] }),
      recordingClient(official.url),
      recordingClient(sb1.url, { nsp: "/admin" }),
      recordingClient(official.url, { nsp: "/admin" }),
    ]);
    await Promise.all([a, b, c].map((client) => client.join("room1")));
    await Promise.all([a.join("a-only"), b.join("b-only"), c.join("c-only")]);
  });

  afterAll(async () => {
    for (const client of [a, b, c, aAdmin, cAdmin, ...extra]) client?.close();
    official?.stop();
    await Promise.all([sb1?.close(), sb2?.close()]);
  });

  test("every node counts three servers in the namespace", async () => {
    expect(await sb1.io.of("/").adapter.serverCount()).toBe(3);
    expect(await official.run<number>("serverCount")).toBe(3);
  });

  test("a room broadcast from a Switchboard node reaches the room's members on every node", async () => {
    sb1.io.to("room1").emit("hello-room", 1, { x: "y" });
    await waitFor("all three", () => [a, b, c].every((client) => client.got("hello-room").length === 1));
    expect(c.got("hello-room")[0]).toEqual([1, { x: "y" }]);
    expect(b.got("hello-room")[0]).toEqual([1, { x: "y" }]);
  });

  test("a broadcast from the official node reaches Switchboard clients, in both subscription modes", async () => {
    await official.run("emit", { rooms: ["room1"], event: "from-official", args: ["o"] });
    await official.run("emit", { event: "official-everyone" });
    await waitFor(
      "a and b",
      () => a.got("from-official").length === 1 && b.got("from-official").length === 1,
    );
    await waitFor("everyone", () =>
      [a, b, c].every((client) => client.got("official-everyone").length === 1),
    );
  });

  test("several rooms and except are honoured across nodes", async () => {
    sb2.io.to(["a-only", "c-only"]).except("a-only").emit("two-rooms");
    sb1.io.except("room1").emit("nobody-in-room1");
    await official.run("emit", { rooms: ["room1"], except: ["b-only"], event: "official-except" });
    await settle();
    expect(a.got("two-rooms")).toHaveLength(0);
    expect(c.got("two-rooms")).toHaveLength(1);
    for (const client of [a, b, c]) expect(client.got("nobody-in-room1")).toHaveLength(0);
    expect(a.got("official-except")).toHaveLength(1);
    expect(b.got("official-except")).toHaveLength(0);
    expect(c.got("official-except")).toHaveLength(1);
  });

  test("a local broadcast stays on its node", async () => {
    sb1.io.local.emit("only-here");
    await settle();
    expect(a.got("only-here")).toHaveLength(1);
    expect(b.got("only-here")).toHaveLength(0);
    expect(c.got("only-here")).toHaveLength(0);
  });

  test("namespaces stay apart across nodes", async () => {
    sb2.io.of("/admin").emit("admin-news");
    await waitFor(
      "admins",
      () => aAdmin.got("admin-news").length === 1 && cAdmin.got("admin-news").length === 1,
    );
    await settle();
    for (const client of [a, b, c]) expect(client.got("admin-news")).toHaveLength(0);
  });

  test("binary payloads cross in both directions", async () => {
    sb1.io.to("room1").emit("bin", new Uint8Array([1, 2, 255]));
    await waitFor("binary on the official node's client", () => c.got("bin").length === 1);
    expect([...new Uint8Array(c.got("bin")[0]?.[0] as ArrayBuffer)]).toEqual([1, 2, 255]);
    expect([...new Uint8Array(b.got("bin")[0]?.[0] as ArrayBuffer)]).toEqual([1, 2, 255]);
  });

  test("emitWithAck collects the acks of clients on every node, from either kind of node", async () => {
    const operator = sb1.io.to("room1").timeout(3000) as unknown as {
      emitWithAck(ev: string, arg: string): Promise<string[]>;
    };
    const fromSwitchboard = await operator.emitWithAck("ask", "q1");
    expect(fromSwitchboard.sort()).toEqual(
      [`${a.socket.id}:q1`, `${b.socket.id}:q1`, `${c.socket.id}:q1`].sort(),
    );
    const fromOfficial = await official.run<string[]>("emitWithAck", {
      rooms: ["room1"],
      event: "ask",
      args: ["q2"],
      timeout: 3000,
    });
    expect(fromOfficial.sort()).toEqual(
      [`${a.socket.id}:q2`, `${b.socket.id}:q2`, `${c.socket.id}:q2`].sort(),
    );
  });

  test("fetchSockets returns the remote sockets with id, handshake, rooms and data", async () => {
    const sockets = await sb1.io.in("room1").fetchSockets();
    const byId = new Map(sockets.map((s) => [s.id, s]));
    expect([...byId.keys()].sort()).toEqual([a.socket.id, b.socket.id, c.socket.id].sort() as string[]);
    const onOfficial = byId.get(c.socket.id as string)!;
    expect(onOfficial.data).toEqual({ node: "official", nsp: "/" });
    expect([...onOfficial.rooms].sort()).toEqual([c.socket.id, "c-only", "room1"].sort() as string[]);
    expect((onOfficial.handshake as { query: Record<string, string> }).query.EIO).toBe("4");
    expect(byId.get(b.socket.id as string)!.data).toEqual({ node: "sb2", nsp: "/" });
  });

  test("the official node fetches Switchboard sockets with their rooms and data", async () => {
    const sockets = await official.run<{ id: string; rooms: string[]; data: unknown }[]>("fetchSockets", {
      rooms: ["a-only"],
    });
    expect(sockets).toHaveLength(1);
    expect(sockets[0]?.id).toBe(a.socket.id as string);
    expect(sockets[0]?.data).toEqual({ node: "sb1", nsp: "/" });
    expect(sockets[0]?.rooms.sort()).toEqual([a.socket.id, "a-only", "room1"].sort() as string[]);
  });

  test("a remote socket can be emitted to, joined to and removed from rooms", async () => {
    const [remote] = await sb1.io.in("c-only").fetchSockets();
    expect(remote?.id).toBe(c.socket.id as string);
    remote!.emit("direct", "to-c");
    await waitFor("direct emit", () => c.got("direct").length === 1);
    remote!.join("joined-remotely");
    await waitFor(
      "remote join",
      async () =>
        (await official.run<unknown[]>("fetchSockets", { rooms: ["joined-remotely"] })).length === 1,
    );
    remote!.leave("joined-remotely");
    await waitFor(
      "remote leave",
      async () =>
        (await official.run<unknown[]>("fetchSockets", { rooms: ["joined-remotely"] })).length === 0,
    );
    // And the other way: the official node drives a Switchboard socket.
    await official.run("remoteEmit", { socketId: b.socket.id, action: "join", room: "joined-by-official" });
    await waitFor(
      "official joined b",
      () =>
        sb2.io
          .of("/")
          .adapter.rooms.get("joined-by-official")
          ?.has(b.socket.id as string) === true,
    );
    await official.run("remoteEmit", {
      socketId: b.socket.id,
      action: "emit",
      event: "from-official-direct",
    });
    await waitFor("official emitted to b", () => b.got("from-official-direct").length === 1);
  });

  test("a remote socket can be disconnected, from either kind of node", async () => {
    const [onOfficial, onSwitchboard] = await Promise.all([
      recordingClient(official.url),
      recordingClient(sb2.url),
    ]);
    extra.push(onOfficial, onSwitchboard);
    const [remote] = await sb1.io.in(onOfficial.socket.id as string).fetchSockets();
    remote!.disconnect(true);
    await waitFor("official's socket disconnected by Switchboard", () => !onOfficial.socket.connected);
    await official.run("remoteEmit", { socketId: onSwitchboard.socket.id, action: "disconnect" });
    await waitFor(
      "Switchboard's socket disconnected by the official node",
      () => !onSwitchboard.socket.connected,
    );
  });

  test("socketsJoin and socketsLeave apply on every node", async () => {
    sb2.io.in("room1").socketsJoin("everyone-joined");
    await waitFor(
      "joined everywhere",
      async () => (await sb1.io.in("everyone-joined").fetchSockets()).length === 3,
    );
    await official.run("emit", { rooms: ["everyone-joined"], event: "joined-ev" });
    await waitFor("all got it", () => [a, b, c].every((client) => client.got("joined-ev").length === 1));
    await official.run("socketsLeave", { rooms: ["room1"], room: "everyone-joined" });
    await waitFor(
      "left everywhere",
      async () => (await sb1.io.in("everyone-joined").fetchSockets()).length === 0,
    );
  });

  test("disconnectSockets disconnects matching sockets on every node", async () => {
    const doomed = await Promise.all([
      recordingClient(sb1.url),
      recordingClient(official.url),
      recordingClient(sb2.url, { transports: ["polling"] }),
    ]);
    extra.push(...doomed);
    await Promise.all(doomed.map((client) => client.join("doomed")));
    sb2.io.in("doomed").disconnectSockets(true);
    await waitFor("all doomed disconnected", () => doomed.every((client) => !client.socket.connected));
    expect(a.socket.connected && b.socket.connected && c.socket.connected).toBe(true);
  });

  test("serverSideEmit with an ack gathers one answer from each other node", async () => {
    const responses = await new Promise<unknown[]>((resolve, reject) => {
      sb1.io.serverSideEmit("ping-servers", "x", (err: Error | null, answers: unknown[]) =>
        err ? reject(err) : resolve(answers),
      );
    });
    expect(responses.sort()).toEqual(["official:x", "sb2:x"]);
    const fromOfficial = await official.run<string[]>("serverSideEmit", { arg: "y" });
    expect(fromOfficial.sort()).toEqual(["sb1:y", "sb2:y"]);
    expect(sb1.serverSide).toContainEqual(["/", "y"]);
  });

  test("allRooms lists the rooms of every node", async () => {
    const rooms = await (
      sb1.io.of("/").adapter as unknown as { allRooms(): Promise<Set<string>> }
    ).allRooms();
    for (const room of ["a-only", "b-only", "c-only", "room1"]) expect(rooms.has(room)).toBe(true);
    const officialRooms = await official.run<string[]>("allRooms");
    for (const room of ["a-only", "b-only", "c-only"]) expect(officialRooms).toContain(room);
  });

  test("the official emitter in another process reaches Switchboard clients: rooms, except, namespaces", async () => {
    await runEmitter(TEST_REDIS_URL, key, [
      { op: "emit", rooms: ["a-only"], event: "emitted-room", args: [42] },
      { op: "emit", rooms: ["room1"], except: ["b-only"], event: "emitted-except" },
      { nsp: "/admin", op: "emit", event: "emitted-admin" },
      { op: "serverSideEmit", event: "hello", args: ["from-emitter"] },
    ]);
    await waitFor(
      "emitter events",
      () => a.got("emitted-room").length === 1 && aAdmin.got("emitted-admin").length === 1,
    );
    expect(a.got("emitted-room")[0]).toEqual([42]);
    await settle();
    expect(a.got("emitted-except")).toHaveLength(1);
    expect(b.got("emitted-except")).toHaveLength(0);
    expect(c.got("emitted-except")).toHaveLength(1);
    expect(a.got("emitted-admin")).toHaveLength(0);
    await waitFor("server-side event", () => sb2.serverSide.some((e) => e[1] === "from-emitter"));
  });

  test("the emitter's socketsJoin and disconnectSockets reach Switchboard sockets", async () => {
    const target = await recordingClient(sb2.url);
    extra.push(target);
    await target.join("emitter-target");
    await runEmitter(TEST_REDIS_URL, key, [
      { op: "socketsJoin", rooms: ["emitter-target"], room: "emitter-joined" },
    ]);
    await waitFor("joined by emitter", () => sb2.io.of("/").adapter.rooms.get("emitter-joined")?.size === 1);
    await runEmitter(TEST_REDIS_URL, key, [
      { op: "disconnectSockets", rooms: ["emitter-joined"], close: true },
    ]);
    await waitFor("disconnected by emitter", () => !target.socket.connected);
  });

  test("malformed and foreign messages on the channels are logged, counted and ignored", async () => {
    const raw = createClient({ url: TEST_REDIS_URL });
    await raw.connect();
    try {
      const before = sb1.cluster.link.counters.malformed;
      await raw.publish(`${key}#/#`, Buffer.from([0xc1, 0x00]));
      await raw.publish(`${key}#/#a-only#`, "{not json");
      await raw.publish(`${key}-request#/#`, JSON.stringify({ type: 99, requestId: "x" }));
      await raw.publish(`${key}-request#/#`, Buffer.from("garbage"));
      await raw.publish(`${key}-response#/#`, JSON.stringify({ nothing: true }));
      // Well-formed but foreign: a packet of another namespace on this namespace's channel, and a
      // request for a namespace nobody serves.
      const { encode } = await import("notepack.io");
      await raw.publish(
        `${key}#/#`,
        encode(["other", { type: 2, nsp: "/elsewhere", data: ["foreign"] }, { rooms: [], except: [] }]),
      );
      await raw.publish(`${key}-request#/nope#`, JSON.stringify({ type: 1, uid: "x", requestId: "y" }));
      await waitFor("five malformed counted", () => sb1.cluster.link.counters.malformed - before >= 5);
      sb2.io.to("room1").emit("still-working");
      await waitFor("still delivering", () =>
        [a, b, c].every((client) => client.got("still-working").length === 1),
      );
      expect(a.got("foreign")).toHaveLength(0);
    } finally {
      await raw.close();
    }
  });

  test("a request answers with partial results at its deadline when a node stays silent", async () => {
    // A silent "node": subscribed to the request channel (so it is counted) but never answers.
    const silent = createClient({ url: TEST_REDIS_URL });
    await silent.connect();
    await silent.subscribe(`${key}-request#/#`, () => {});
    try {
      expect(await sb1.io.of("/").adapter.serverCount()).toBe(4);
      const error = await sb1.io
        .in("room1")
        .fetchSockets()
        .then(
          () => null,
          (err: unknown) => err,
        );
      expect(error).toBeInstanceOf(ClusterTimeoutError);
      const timeout = error as ClusterTimeoutError<unknown[]>;
      expect(timeout.partial).toHaveLength(3);
      expect(timeout.expected).toBe(4);
      expect(timeout.received).toBe(3);
      const [err, responses] = await new Promise<[Error | null, unknown[]]>((resolve) => {
        sb1.io.serverSideEmit("ping-servers", "z", (e: Error | null, r: unknown[]) => resolve([e, r]));
      });
      expect(err).toBeInstanceOf(ClusterTimeoutError);
      expect((responses as string[]).sort()).toEqual(["official:z", "sb2:z"]);
      expect(sb1.cluster.link.counters.requestTimeouts).toBeGreaterThanOrEqual(2);
    } finally {
      await silent.close();
    }
  });
});
