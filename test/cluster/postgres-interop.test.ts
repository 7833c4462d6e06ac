/**
 * One cluster on PostgreSQL, three servers: two Switchboard nodes with the Postgres adapter and an
 * official socket.io 4.8 node with the official @socket.io/postgres-adapter 0.5, in its own Node.js
 * process. Stock clients on each. Every cluster operation is run from both kinds of node; the
 * official @socket.io/postgres-emitter joins in from another process. A fresh database and a unique
 * channel prefix keep the suite apart from everyone else's.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import postgres from "postgres";
import { createPostgresCluster, type PostgresCluster } from "../../protocol/adapter/postgres/index.ts";
import { ClusterTimeoutError } from "../../protocol/adapter/redis/index.ts";
import { hasPostgres } from "../support/services.ts";
import { type RecordingClient, recordingClient, type SwitchboardNode, startNodeOn } from "./harness.ts";
import { type FreshDatabase, freshDatabase } from "./postgres-support.ts";
import { OfficialNode, runEmitter, uniqueKey, waitFor } from "./support.ts";

setDefaultTimeout(20_000);
const postgresUp = await hasPostgres();
const prefix = uniqueKey("pginterop");
const HEARTBEAT = { heartbeatInterval: 1000, heartbeatTimeout: 5000, requestsTimeout: 2000 };

let db: FreshDatabase;
let sb1: SwitchboardNode<PostgresCluster>;
let sb2: SwitchboardNode<PostgresCluster>;
let official: OfficialNode;
/** a: Switchboard 1 (websocket); b: Switchboard 2 (polling); c: official (websocket). */
let a: RecordingClient;
let b: RecordingClient;
let c: RecordingClient;
let aAdmin: RecordingClient;
let cAdmin: RecordingClient;
const extra: RecordingClient[] = [];

function startSwitchboard(name: string): Promise<SwitchboardNode<PostgresCluster>> {
  return startNodeOn(name, createPostgresCluster({ url: db.url, channelPrefix: prefix, ...HEARTBEAT }));
}

/** Every client has seen `marker` (broadcast after the event under test, so anything sent before it has arrived). */
async function settle(from: SwitchboardNode<PostgresCluster> = sb1): Promise<void> {
  const marker = `m${Math.random()}`;
  from.io.emit("marker", marker);
  from.io.of("/admin").emit("marker", marker);
  await waitFor("marker everywhere", () =>
    [a, b, c, aAdmin, cAdmin].every((client) => client.got("marker").some(([m]) => m === marker)),
  );
}

describe.skipIf(!postgresUp)("a mixed Switchboard + official socket.io cluster on PostgreSQL", () => {
  beforeAll(async () => {
    db = await freshDatabase("interop");
    official = await OfficialNode.start(db.url, prefix);
    [sb1, sb2] = await Promise.all([startSwitchboard("sb1"), startSwitchboard("sb2")]);
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
    await db?.drop();
  });

  test("every node counts three servers in the namespace, through heartbeats", async () => {
    await waitFor("three on sb1", async () => (await sb1.io.of("/").adapter.serverCount()) === 3);
    await waitFor(
      "three on the official node",
      async () => (await official.run<number>("serverCount")) === 3,
    );
  });

  test("a room broadcast from a Switchboard node reaches the room's members on every node", async () => {
    sb1.io.to("room1").emit("hello-room", 1, { x: "y" });
    await waitFor("all three", () => [a, b, c].every((client) => client.got("hello-room").length === 1));
    expect(c.got("hello-room")[0]).toEqual([1, { x: "y" }]);
    expect(b.got("hello-room")[0]).toEqual([1, { x: "y" }]);
  });

  test("a broadcast from the official node reaches Switchboard clients", async () => {
    await official.run("emit", { rooms: ["room1"], event: "from-official", args: ["o"] });
    await official.run("emit", { event: "official-everyone" });
    await waitFor("everyone", () =>
      [a, b, c].every((client) => client.got("official-everyone").length === 1),
    );
    expect(a.got("from-official")).toEqual([["o"]]);
    expect(b.got("from-official")).toEqual([["o"]]);
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

  test("a local broadcast stays on its node, and namespaces stay apart", async () => {
    sb1.io.local.emit("only-here");
    sb2.io.of("/admin").emit("admin-news");
    await settle();
    expect(a.got("only-here")).toHaveLength(1);
    expect(b.got("only-here")).toHaveLength(0);
    expect(c.got("only-here")).toHaveLength(0);
    expect(aAdmin.got("admin-news")).toHaveLength(1);
    expect(cAdmin.got("admin-news")).toHaveLength(1);
    for (const client of [a, b, c]) expect(client.got("admin-news")).toHaveLength(0);
  });

  test("binary payloads travel through the attachments table, in both directions", async () => {
    sb1.io.to("room1").emit("bin", new Uint8Array([1, 2, 255]));
    await waitFor("binary on every node", () => [b, c].every((client) => client.got("bin").length === 1));
    expect([...new Uint8Array(c.got("bin")[0]?.[0] as ArrayBuffer)]).toEqual([1, 2, 255]);
    expect([...new Uint8Array(b.got("bin")[0]?.[0] as ArrayBuffer)]).toEqual([1, 2, 255]);
    const rows = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await rows`SELECT count(*)::int AS count FROM socket_io_attachments`;
      expect(row?.count).toBeGreaterThanOrEqual(1);
    } finally {
      await rows.end();
    }
  });

  test("a payload of 8000 bytes or more goes through the attachments table and arrives whole", async () => {
    const big = "x".repeat(9000);
    sb2.io.to("room1").emit("big", big);
    await official.run("emit", { rooms: ["room1"], event: "big-official", args: [big] });
    await waitFor("big everywhere", () =>
      [a, b, c].every((client) => client.got("big").length === 1 && client.got("big-official").length === 1),
    );
    expect(a.got("big")[0]).toEqual([big]);
    expect(c.got("big")[0]).toEqual([big]);
    expect(b.got("big-official")[0]).toEqual([big]);
  });

  // The official adapter inserts an attachment and notifies in two steps and reads attachments without
  // waiting, so its own sends and receipts may reorder; a Switchboard sender and receiver do not.
  test("on a Switchboard receiver, a large message never overtakes a small one sent after it", async () => {
    const big = "y".repeat(10_000);
    for (let i = 0; i < 10; i++) sb1.io.to("room1").emit("ordered", i, i % 3 === 0 ? big : "small");
    await waitFor("all ordered", () => b.got("ordered").length === 10);
    expect(b.got("ordered").map(([i]) => i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
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

  test("fetchSockets returns the remote sockets with id, handshake, rooms and data, both ways", async () => {
    const sockets = await sb1.io.in("room1").fetchSockets();
    const byId = new Map(sockets.map((s) => [s.id, s]));
    expect([...byId.keys()].sort()).toEqual([a.socket.id, b.socket.id, c.socket.id].sort() as string[]);
    const onOfficial = byId.get(c.socket.id as string)!;
    expect(onOfficial.data).toEqual({ node: "official", nsp: "/" });
    expect([...onOfficial.rooms].sort()).toEqual([c.socket.id, "c-only", "room1"].sort() as string[]);
    expect((onOfficial.handshake as { query: Record<string, string> }).query.EIO).toBe("4");
    expect(byId.get(b.socket.id as string)!.data).toEqual({ node: "sb2", nsp: "/" });

    const fromOfficial = await official.run<{ id: string; rooms: string[]; data: unknown }[]>(
      "fetchSockets",
      {
        rooms: ["a-only"],
      },
    );
    expect(fromOfficial).toHaveLength(1);
    expect(fromOfficial[0]?.data).toEqual({ node: "sb1", nsp: "/" });
    expect(fromOfficial[0]?.rooms.sort()).toEqual([a.socket.id, "a-only", "room1"].sort() as string[]);
  });

  test("a remote socket can be emitted to, joined to rooms and disconnected, from either kind of node", async () => {
    const [remote] = await sb1.io.in("c-only").fetchSockets();
    remote!.emit("direct", "to-c");
    await waitFor("direct emit", () => c.got("direct").length === 1);
    remote!.join("joined-remotely");
    await waitFor(
      "remote join",
      async () =>
        (await official.run<unknown[]>("fetchSockets", { rooms: ["joined-remotely"] })).length === 1,
    );
    await official.run("remoteEmit", { socketId: b.socket.id, action: "join", room: "joined-by-official" });
    await waitFor(
      "official joined b",
      () =>
        sb2.io
          .of("/")
          .adapter.rooms.get("joined-by-official")
          ?.has(b.socket.id as string) === true,
    );
    const [onOfficial, onSwitchboard] = await Promise.all([
      recordingClient(official.url),
      recordingClient(sb2.url),
    ]);
    extra.push(onOfficial, onSwitchboard);
    const [doomed] = await sb1.io.in(onOfficial.socket.id as string).fetchSockets();
    doomed!.disconnect(true);
    await waitFor("official's socket disconnected by Switchboard", () => !onOfficial.socket.connected);
    await official.run("remoteEmit", { socketId: onSwitchboard.socket.id, action: "disconnect" });
    await waitFor(
      "Switchboard's socket disconnected by the official node",
      () => !onSwitchboard.socket.connected,
    );
  });

  test("socketsJoin, socketsLeave and disconnectSockets apply on every node", async () => {
    sb2.io.in("room1").socketsJoin("everyone-joined");
    await waitFor(
      "joined everywhere",
      async () => (await sb1.io.in("everyone-joined").fetchSockets()).length === 3,
    );
    await official.run("socketsLeave", { rooms: ["room1"], room: "everyone-joined" });
    await waitFor(
      "left everywhere",
      async () => (await sb1.io.in("everyone-joined").fetchSockets()).length === 0,
    );
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

  test("serverSideEmit with an ack gathers one answer from each other node, both ways", async () => {
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

  test("the official emitter in another process reaches Switchboard clients: rooms, except, namespaces", async () => {
    await runEmitter(db.url, prefix, [
      { op: "emit", rooms: ["a-only"], event: "emitted-room", args: [42] },
      { op: "emit", rooms: ["room1"], except: ["b-only"], event: "emitted-except" },
      { op: "emit", event: "emitted-big", args: ["z".repeat(9000)] },
      { nsp: "/admin", op: "emit", event: "emitted-admin" },
      { op: "serverSideEmit", event: "hello", args: ["from-emitter"] },
      { op: "socketsJoin", rooms: ["b-only"], room: "emitter-joined" },
    ]);
    await waitFor(
      "emitter events",
      () => a.got("emitted-room").length === 1 && aAdmin.got("emitted-admin").length === 1,
    );
    await waitFor("big emitted", () => b.got("emitted-big").length === 1);
    expect(a.got("emitted-room")[0]).toEqual([42]);
    await waitFor("except", () => a.got("emitted-except").length === 1);
    expect(b.got("emitted-except")).toHaveLength(0);
    expect(a.got("emitted-admin")).toHaveLength(0);
    await waitFor("server-side event", () => sb2.serverSide.some((e) => e[1] === "from-emitter"));
    await waitFor("joined by emitter", () => sb2.io.of("/").adapter.rooms.get("emitter-joined")?.size === 1);
  });

  test("malformed notifications on the channel are counted and ignored", async () => {
    const raw = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const before = sb1.cluster.link.counters.malformed;
      const channel = `${prefix}#/`;
      await raw`SELECT pg_notify(${channel}, ${"{not json"})`;
      await raw`SELECT pg_notify(${channel}, ${JSON.stringify({ uid: "x", type: 99 })})`;
      await raw`SELECT pg_notify(${channel}, ${JSON.stringify({ uid: "x", type: 3, data: { packet: { type: 0 } } })})`;
      await raw`SELECT pg_notify(${channel}, ${JSON.stringify({ uid: "x", nsp: "/elsewhere", type: 2 })})`;
      await waitFor("four malformed counted", () => sb1.cluster.link.counters.malformed - before >= 4);
      sb2.io.to("room1").emit("still-working");
      await waitFor("still delivering", () =>
        [a, b, c].every((client) => client.got("still-working").length === 1),
      );
    } finally {
      await raw.end();
    }
  });

  test("a request answers with partial results at its deadline when a node stays silent", async () => {
    // A silent "node": it announces itself (so it is counted) but never answers.
    const raw = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await raw`SELECT pg_notify(${`${prefix}#/`}, ${JSON.stringify({ uid: "silent", nsp: "/", type: 2 })})`;
      await waitFor("four servers", async () => (await sb1.io.of("/").adapter.serverCount()) === 4);
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
      expect(sb1.cluster.link.counters.requestTimeouts).toBeGreaterThanOrEqual(1);
    } finally {
      await raw.end();
    }
  });
});
