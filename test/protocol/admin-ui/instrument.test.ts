/**
 * The official `instrument()` of @socket.io/admin-ui, unchanged, against Switchboard's Server: a
 * stock client on /admin receives the config, the socket list and server stats with packets and
 * bytes both ways, sees upgrades and rooms, and each action (join, leave, emit, disconnect) takes
 * effect on the real clients.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { instrument } from "@socket.io/admin-ui";
import { type Socket as ClientSocket, io as connectClient } from "socket.io-client";
import { Server } from "../../../protocol/index.ts";
import { next, withTimeout } from "../socketio/support.ts";

/** Server stats come every 2 s: a few rounds on a loaded machine. */
const STATS_WAIT_MS = 10_000;

interface AggregatedEvent {
  type: string;
  subType?: string;
  count: number;
}
interface ServerStats {
  clientsCount: number;
  pollingClientsCount: number;
  aggregatedEvents: AggregatedEvent[];
  namespaces: { name: string; socketsCount: number }[];
}
interface SerializedSocket {
  id: string;
  transport: string;
  nsp: string;
  rooms: string[];
}

async function until(check: () => boolean, what: string, ms = 3000): Promise<void> {
  await withTimeout(
    (async () => {
      while (!check()) await Bun.sleep(10);
    })(),
    what,
    ms,
  );
}

describe("@socket.io/admin-ui instrument() on Switchboard", () => {
  let io: Server;
  let url: string;
  const clients: ClientSocket[] = [];
  let admin: ClientSocket;
  const stats: ServerStats[] = [];
  const updates: Partial<SerializedSocket>[] = [];
  const rooms: [string, string, string][] = [];

  function client(opts: Parameters<typeof connectClient>[1] = {}): ClientSocket {
    const socket = connectClient(url, { forceNew: true, reconnection: false, ...opts });
    clients.push(socket);
    return socket;
  }

  beforeAll(async () => {
    io = new Server({ pingInterval: 2000, pingTimeout: 2000 });
    io.on("connection", (socket) => {
      socket.on("echo", (v: unknown, ack: (v: unknown) => void) => ack(v));
    });
    // instrument() is typed against socket.io's own Server class; it only uses the public API.
    instrument(io as never, {
      auth: {
        type: "basic",
        username: "admin",
        password: await Bun.password.hash("s3cret", { algorithm: "bcrypt", cost: 4 }),
      },
      mode: "development",
    });
    url = `http://127.0.0.1:${io.listen(0, "127.0.0.1").port}`;
    admin = connectClient(`${url}/admin`, {
      forceNew: true,
      reconnection: false,
      auth: { username: "admin", password: "s3cret" },
    });
    clients.push(admin);
    admin.on("server_stats", (s: ServerStats) => stats.push(s));
    admin.on("socket_updated", (s: Partial<SerializedSocket>) => updates.push(s));
    admin.on("room_joined", (nsp: string, room: string, id: string) => rooms.push([nsp, room, id]));
    await next(admin, "connect");
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await io.close();
  });

  test("wrong credentials are refused; the right ones get a session id", async () => {
    const wrong = connectClient(`${url}/admin`, {
      forceNew: true,
      reconnection: false,
      auth: { username: "admin", password: "nope" },
    });
    clients.push(wrong);
    const [err] = await next<[Error]>(wrong, "connect_error");
    expect(err.message).toBe("invalid credentials");
    const again = connectClient(`${url}/admin`, {
      forceNew: true,
      reconnection: false,
      auth: { username: "admin", password: "s3cret" },
    });
    clients.push(again);
    const [sessionId] = await next<[string]>(again, "session");
    expect(sessionId).toMatch(/^[0-9a-f]{16}$/);
  });

  test("config lists every feature; all_sockets lists the connected sockets", async () => {
    const probe = connectClient(`${url}/admin`, {
      forceNew: true,
      reconnection: false,
      auth: { username: "admin", password: "s3cret" },
    });
    clients.push(probe);
    const user = client({ transports: ["websocket"] });
    await next(user, "connect");
    const configured = next<[{ supportedFeatures: string[] }]>(probe, "config");
    const listed = next<[SerializedSocket[]]>(probe, "all_sockets");
    const [config] = await configured;
    expect(config.supportedFeatures).toEqual(
      expect.arrayContaining(["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"]),
    );
    const [sockets] = await listed;
    const mine = sockets.find((s) => s.id === user.id);
    expect(mine).toMatchObject({ nsp: "/", transport: "websocket" });
    expect(mine!.rooms).toEqual([user.id!]);
  });

  test("server_stats count connections, packets and bytes in and out, and polling clients", async () => {
    const polling = client({ transports: ["polling"] });
    await next(polling, "connect");
    for (let i = 0; i < 5; i++)
      expect(await polling.emitWithAck("echo", `payload-${i}`)).toBe(`payload-${i}`);
    const total = (type: string) =>
      stats.flatMap((s) => s.aggregatedEvents).reduce((n, e) => (e.type === type ? n + e.count : n), 0);
    await until(
      () => total("packetsIn") >= 5 && total("packetsOut") >= 5 && total("rawConnection") >= 1,
      "server_stats with packets",
      STATS_WAIT_MS,
    );
    expect(total("bytesIn")).toBeGreaterThan(5 * "payload-0".length);
    expect(total("bytesOut")).toBeGreaterThan(5 * "payload-0".length);
    const last = stats.at(-1)!;
    expect(last.clientsCount).toBe(io.engine.clientsCount);
    expect(last.pollingClientsCount).toBeGreaterThanOrEqual(1);
    expect(last.namespaces.find((n) => n.name === "/")!.socketsCount).toBe(io.of("/").sockets.size);
  });

  test("a polling → websocket upgrade is reported with the new transport", async () => {
    const user = client({ transports: ["polling", "websocket"] });
    await next(user, "connect");
    await until(() => updates.some((u) => u.id === user.id && u.transport === "websocket"), "socket_updated");
  });

  test("join, leave, emit and disconnect act on the real sockets", async () => {
    const a = client({ transports: ["websocket"] });
    const b = client({ transports: ["polling"] });
    await Promise.all([next(a, "connect"), next(b, "connect")]);
    const sa = io.of("/").sockets.get(a.id!)!;
    const sb = io.of("/").sockets.get(b.id!)!;

    admin.emit("join", "/", "vip", a.id);
    await until(() => sa.rooms.has("vip"), "a in vip");
    expect(sb.rooms.has("vip")).toBe(false);
    await until(
      () => rooms.some(([nsp, room, id]) => nsp === "/" && room === "vip" && id === a.id),
      "room_joined",
    );

    admin.emit("join", "/", "everyone");
    await until(() => sa.rooms.has("everyone") && sb.rooms.has("everyone"), "all in everyone");

    const gotA = next<[string]>(a, "notice");
    admin.emit("emit", "/", "vip", "notice", "for vips");
    expect((await gotA)[0]).toBe("for vips");

    admin.emit("leave", "/", "everyone", a.id);
    await until(() => !sa.rooms.has("everyone"), "a left everyone");
    expect(sb.rooms.has("everyone")).toBe(true);

    const gone = next<[string]>(b, "disconnect");
    admin.emit("_disconnect", "/", false, b.id);
    expect((await gone)[0]).toBe("io server disconnect");
    expect(a.connected).toBe(true);
  });
});

describe("packetCreate under Socket.IO broadcasts (what the admin UI counts)", () => {
  test("io.to(room).emit reports one packetCreate per receiver, websocket and polling alike, and none to others", async () => {
    const io = new Server({ pingInterval: 10_000, pingTimeout: 10_000 });
    const url = `http://127.0.0.1:${io.listen(0, "127.0.0.1").port}`;
    const created = new Map<string, string[]>();
    io.engine.on("connection", (conn) => {
      const list: string[] = [];
      created.set(conn.id, list);
      conn.on("packetCreate", (p) => {
        if (p.type === "message") list.push(String(p.data));
      });
    });
    io.on("connection", (socket) => {
      if (socket.handshake.auth.room) socket.join(socket.handshake.auth.room as string);
    });
    const clients: ClientSocket[] = [];
    try {
      const setups = [
        { transports: ["websocket"], room: "news" },
        { transports: ["polling"], room: "news" },
        { transports: ["websocket"], room: "other" },
      ] as const;
      for (const { transports, room } of setups) {
        const c = connectClient(url, {
          forceNew: true,
          reconnection: false,
          transports: [...transports],
          auth: { room },
        });
        clients.push(c);
        await next(c, "connect");
      }
      const received = clients.slice(0, 2).map((c) => next<[string]>(c, "headline"));
      io.to("news").emit("headline", "extra");
      for (const r of received) expect((await r)[0]).toBe("extra");
      const headline = '2["headline","extra"]';
      const perSession = [...created.values()].map((list) => list.filter((d) => d === headline).length);
      expect(perSession.sort()).toEqual([0, 1, 1]);
    } finally {
      for (const c of clients) c.disconnect();
      await io.close();
    }
  });
});
