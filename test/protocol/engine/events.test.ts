/**
 * The session's and the engine's events as engine.io emits them: `packet`, `packetCreate` (also for
 * broadcasts delivered natively), `data`, `heartbeat`, `upgrading` / `upgrade` with the transport,
 * `close`, `drain`; `initial_headers` / `headers` / `connection`; listeners that throw are logged and
 * change nothing.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { EnginePacket, EngineSocket } from "../../../protocol/engine/index.ts";
import {
  get,
  handshake,
  nextClose,
  nextConnection,
  post,
  startEngine,
  type TestEngine,
  WsClient,
  withTimeout,
} from "./helpers.ts";
import { rawUpgrade } from "./raw-tcp.ts";

async function until(check: () => boolean, what: string): Promise<void> {
  await withTimeout(
    (async () => {
      while (!check()) await Bun.sleep(5);
    })(),
    what,
  );
}

async function openWs(t: TestEngine): Promise<{ socket: EngineSocket; ws: WsClient }> {
  const connected = nextConnection(t.engine);
  const ws = new WsClient(t.url({ transport: "websocket" }, "ws"));
  const socket = await connected;
  expect(((await ws.next()) as string).startsWith("0{")).toBe(true);
  return { socket, ws };
}

async function openPolling(t: TestEngine): Promise<{ sid: string; socket: EngineSocket }> {
  const connected = nextConnection(t.engine);
  const { sid } = await handshake(t);
  return { sid, socket: await connected };
}

describe("engine session events", () => {
  const t = startEngine({ pingInterval: 150, pingTimeout: 2000 });
  afterAll(() => t.close());

  test("packet and packetCreate carry each packet received and sent, in engine.io's shape; data and heartbeat follow", async () => {
    const { socket, ws } = await openWs(t);
    const received: EnginePacket[] = [];
    const created: EnginePacket[] = [];
    const data: unknown[] = [];
    let heartbeats = 0;
    socket.on("packet", (p) => received.push(p));
    socket.on("packetCreate", (p) => created.push(p));
    socket.on("data", (d) => data.push(d));
    socket.on("heartbeat", () => heartbeats++);
    ws.send("4hello");
    ws.send(new Uint8Array([1, 2]));
    socket.send("out");
    socket.send(new Uint8Array([3]), { compress: false });
    expect(await ws.next()).toBe("4out");
    expect(await ws.next()).toEqual(new Uint8Array([3]));
    // The next ping (150 ms) is answered: one more packetCreate, a pong packet and a heartbeat.
    expect(await ws.next()).toBe("2");
    ws.send("3");
    await until(() => heartbeats === 1, "the heartbeat");
    expect(received).toEqual([
      { type: "message", data: "hello" },
      { type: "message", data: new Uint8Array([1, 2]) },
      { type: "pong" },
    ]);
    expect(created).toEqual([
      { type: "message", data: "out", options: { compress: true } },
      { type: "message", data: new Uint8Array([3]), options: { compress: false } },
      { type: "ping", options: { compress: false } },
    ]);
    expect(data).toEqual(["hello", new Uint8Array([1, 2])]);
    ws.close();
  });

  test("the open packet is created before the engine's connection event, as in engine.io", async () => {
    const created: EnginePacket[] = [];
    const seen = new Promise<void>((resolve) => {
      t.engine.once("connection", (socket) => {
        socket.on("packetCreate", (p) => created.push(p));
        resolve();
      });
    });
    const ws = new WsClient(t.url({ transport: "websocket" }, "ws"));
    await withTimeout(seen, "connection");
    expect(((await ws.next()) as string).startsWith("0{")).toBe(true);
    expect(created).toEqual([]);
    ws.close();
  });

  test("upgrading and upgrade pass the new transport; transport.name follows the switch", async () => {
    const { sid, socket } = await openPolling(t);
    expect(socket.transport.name).toBe("polling");
    const upgrading = withTimeout(
      new Promise<string>((r) => socket.once("upgrading", (tr) => r(tr.name))),
      "upgrading",
    );
    const upgraded = withTimeout(
      new Promise<string>((r) => socket.once("upgrade", (tr) => r(tr.name))),
      "upgrade",
    );
    const ws = new WsClient(t.url({ transport: "websocket", sid }, "ws"));
    await ws.opened;
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    expect(await upgrading).toBe("websocket");
    ws.send("5");
    expect(await upgraded).toBe("websocket");
    expect(socket.transport.name).toBe("websocket");
    expect(socket.transportName).toBe("websocket");
    ws.close();
  });

  test("close carries the reason and description; drain follows a flush", async () => {
    const { sid, socket } = await openPolling(t);
    let drains = 0;
    socket.on("drain", () => drains++);
    socket.send("queued");
    const answer = await get(t.url({ transport: "polling", sid }));
    expect(await answer.text()).toBe("4queued");
    expect(drains).toBe(1);
    const closed = nextClose(socket);
    // An overlapping GET is a transport error with engine.io's description.
    const first = get(t.url({ transport: "polling", sid }));
    await Bun.sleep(20);
    await get(t.url({ transport: "polling", sid }));
    const { reason, description } = await closed;
    expect(reason).toBe("transport error");
    expect((description as Error).message).toBe("overlap from client");
    await first;
  });
});

describe("packetCreate for broadcasts", () => {
  const t = startEngine({ pingInterval: 10_000, pingTimeout: 10_000 });
  afterAll(() => t.close());

  test("a native publish reports packetCreate once per packet on each watching receiver, not on the excluded one", async () => {
    const a = await openWs(t);
    const b = await openWs(t);
    const p = await openPolling(t);
    const created = new Map<EngineSocket, EnginePacket[]>();
    for (const s of [a.socket, b.socket, p.socket]) {
      created.set(s, []);
      s.subscribe("room");
      s.on("packetCreate", (packet) => created.get(s)!.push(packet));
    }
    t.engine.publish("room", ["head", new Uint8Array([9])]);
    t.engine.publish("room", "second", { except: b.socket });
    expect(await a.ws.next()).toBe("4head");
    expect(await a.ws.next()).toEqual(new Uint8Array([9]));
    expect(await a.ws.next()).toBe("4second");
    expect(await b.ws.next()).toBe("4head");
    const head: EnginePacket = { type: "message", data: "head", options: { compress: true } };
    const bin: EnginePacket = { type: "message", data: new Uint8Array([9]), options: { compress: true } };
    const second: EnginePacket = { type: "message", data: "second", options: { compress: true } };
    expect(created.get(a.socket)).toEqual([head, bin, second]);
    expect(created.get(b.socket)).toEqual([head, bin]);
    // The polling receiver reports through its own queue: once, not twice.
    expect(created.get(p.socket)).toEqual([head, bin, second]);
    a.ws.close();
    b.ws.close();
  });

  test("after the last packetCreate listener goes, and for topics left, nothing is reported", async () => {
    const a = await openWs(t);
    const created: EnginePacket[] = [];
    const listener = (packet: EnginePacket) => created.push(packet);
    a.socket.subscribe("r1");
    a.socket.subscribe("r2");
    a.socket.on("packetCreate", listener);
    a.socket.unsubscribe("r2");
    t.engine.publish("r2", "not mine");
    t.engine.publish("r1", "mine");
    expect(await a.ws.next()).toBe("4mine");
    expect(created.map((c) => c.data)).toEqual(["mine"]);
    a.socket.off("packetCreate", listener);
    t.engine.publish("r1", "unwatched");
    expect(await a.ws.next()).toBe("4unwatched");
    expect(created.map((c) => c.data)).toEqual(["mine"]);
    a.ws.close();
  });

  test("a session that joins a topic after it started listening is reported for it", async () => {
    const a = await openWs(t);
    const created: EnginePacket[] = [];
    a.socket.on("packetCreate", (packet) => created.push(packet));
    a.socket.subscribe("late");
    t.engine.publish("late", "x");
    expect(await a.ws.next()).toBe("4x");
    expect(created.map((c) => c.data)).toEqual(["x"]);
    a.ws.close();
  });
});

describe("engine server events", () => {
  const t = startEngine({ pingInterval: 10_000, pingTimeout: 10_000 });
  afterAll(() => t.close());

  test("initial_headers adds headers to handshakes (polling and websocket), headers to every successful answer", async () => {
    const onInitial = (headers: Record<string, string | readonly string[]>) => {
      headers["Set-Cookie"] = ["io=abc; Path=/", "lb=1; Path=/"];
    };
    const onHeaders = (headers: Record<string, string | readonly string[]>, req: Request) => {
      headers["X-Seen"] = new URL(req.url).searchParams.has("sid") ? "session" : "handshake";
    };
    t.engine.on("initial_headers", onInitial);
    t.engine.on("headers", onHeaders);
    try {
      const res = await get(t.url({ transport: "polling" }));
      expect(res.headers.getSetCookie()).toEqual(["io=abc; Path=/", "lb=1; Path=/"]);
      expect(res.headers.get("x-seen")).toBe("handshake");
      const sid = JSON.parse((await res.text()).slice(1)).sid as string;
      const posted = await post(t.url({ transport: "polling", sid }), "4x");
      expect(posted.headers.get("x-seen")).toBe("session");
      expect(posted.headers.getSetCookie()).toEqual([]);
      // A refusal is not a successful answer.
      const refused = await get(t.url({ transport: "polling", sid: "unknown" }));
      expect(refused.headers.get("x-seen")).toBeNull();

      const conn = await rawUpgrade(t.url({ transport: "websocket" }, "ws"));
      try {
        const bytes = await conn.until((b) => b.includes("\r\n\r\n"), "the 101");
        const head = bytes.toString("latin1").toLowerCase();
        expect(head.startsWith("http/1.1 101")).toBe(true);
        expect(head).toContain("set-cookie: io=abc; path=/");
        expect(head).toContain("x-seen: handshake");
      } finally {
        conn.destroy();
      }
    } finally {
      t.engine.off("initial_headers", onInitial);
      t.engine.off("headers", onHeaders);
    }
  });

  test("throwing headers, initial_headers and connection listeners are logged; the requests are answered and sessions work", async () => {
    const boom = () => {
      throw new Error("listener bug");
    };
    t.engine.on("initial_headers", boom);
    t.engine.on("headers", boom);
    t.engine.on("connection", boom);
    try {
      for (let i = 0; i < 3; i++) {
        const { sid, socket } = await openPolling(t);
        const got: unknown[] = [];
        socket.on("message", (d) => got.push(d));
        expect((await post(t.url({ transport: "polling", sid }), `4m${i}`)).status).toBe(200);
        expect(got).toEqual([`m${i}`]);
        const { socket: wsSocket, ws } = await openWs(t);
        wsSocket.send("hi");
        expect(await ws.next()).toBe("4hi");
        ws.close();
      }
    } finally {
      t.engine.off("initial_headers", boom);
      t.engine.off("headers", boom);
      t.engine.off("connection", boom);
    }
  });

  test("a throwing session listener (message, packet, packetCreate) is logged; the session goes on", async () => {
    const { socket, ws } = await openWs(t);
    const boom = () => {
      throw new Error("listener bug");
    };
    socket.on("message", boom);
    socket.on("packet", boom);
    socket.on("packetCreate", boom);
    const got: unknown[] = [];
    socket.on("message", (d) => got.push(d));
    ws.send("4one");
    ws.send("4two");
    await until(() => got.length === 2, "both messages");
    socket.send("back");
    expect(await ws.next()).toBe("4back");
    expect(socket.state).toBe("open");
    ws.close();
  });
});

describe("docs/engine.md", () => {
  /** Event names in the first column of the markdown table that follows `heading`. */
  function tableEvents(doc: string, heading: string): string[] {
    const table = doc.slice(doc.indexOf(heading)).split("\n\n")[1] ?? "";
    return table
      .split("\n")
      .slice(2)
      .flatMap((row) => [...(row.split("|")[1] ?? "").matchAll(/`([a-z_A-Z]+)`/g)].map((m) => m[1]!))
      .sort();
  }

  async function emitted(file: string): Promise<string[]> {
    const source = await Bun.file(new URL(`../../../protocol/engine/${file}`, import.meta.url)).text();
    return [...new Set([...source.matchAll(/emit\("([a-z_A-Z]+)"/g)].map((m) => m[1]!))].sort();
  }

  test("lists exactly the events the engine and its sessions emit", async () => {
    const doc = await Bun.file(new URL("../../../docs/engine.md", import.meta.url)).text();
    expect(tableEvents(doc, "Engine (`io.engine.on")).toEqual(await emitted("engine.ts"));
    expect(tableEvents(doc, "Connection (`socket.conn.on")).toEqual(await emitted("session.ts"));
  });
});

describe("engine option cookie", () => {
  test("true sets engine.io's io cookie with the session id on the polling and websocket handshakes only", async () => {
    const t = startEngine({ cookie: true });
    try {
      const res = await get(t.url({ transport: "polling" }));
      const sid = JSON.parse((await res.text()).slice(1)).sid as string;
      expect(res.headers.getSetCookie()).toEqual([`io=${sid}; Path=/; HttpOnly; SameSite=Lax`]);
      const later = await post(t.url({ transport: "polling", sid }), "4x");
      expect(later.headers.getSetCookie()).toEqual([]);
      const conn = await rawUpgrade(t.url({ transport: "websocket" }, "ws"));
      try {
        const head = (await conn.until((b) => b.includes("\r\n\r\n"), "the 101")).toString("latin1");
        expect(head).toMatch(/\r\nset-cookie: io=[\w-]{20}; Path=\/; HttpOnly; SameSite=Lax\r\n/i);
      } finally {
        conn.destroy();
      }
    } finally {
      await t.close();
    }
  });

  test("an object overrides engine.io's defaults; initial_headers listeners see the cookie", async () => {
    const t = startEngine({
      cookie: { name: "lb", sameSite: "strict", secure: true, httpOnly: false, maxAge: 60 },
    });
    const seen: unknown[] = [];
    t.engine.on("initial_headers", (headers) => seen.push(headers["Set-Cookie"]));
    try {
      const res = await get(t.url({ transport: "polling" }));
      const sid = JSON.parse((await res.text()).slice(1)).sid as string;
      const cookie = `lb=${sid}; Max-Age=60; Path=/; Secure; SameSite=Strict`;
      expect(res.headers.getSetCookie()).toEqual([cookie]);
      expect(seen).toEqual([[cookie]]);
    } finally {
      await t.close();
    }
  });

  test("off by default; a name that cannot be a cookie fails at construction", async () => {
    const t = startEngine();
    try {
      expect((await get(t.url({ transport: "polling" }))).headers.getSetCookie()).toEqual([]);
    } finally {
      await t.close();
    }
    expect(() => startEngine({ cookie: { name: "bad name;" } })).toThrow("invalid cookie name");
  });
});

describe("engine option initialPacket", () => {
  test("follows the open packet on both transports", async () => {
    const t = startEngine({ initialPacket: "welcome" });
    try {
      const text = await (await get(t.url({ transport: "polling" }))).text();
      const [open, initial] = text.split("\x1e");
      expect(open!.startsWith("0{")).toBe(true);
      expect(initial).toBe("4welcome");
      const ws = new WsClient(t.url({ transport: "websocket" }, "ws"));
      expect(((await ws.next()) as string).startsWith("0{")).toBe(true);
      expect(await ws.next()).toBe("4welcome");
      ws.close();
    } finally {
      await t.close();
    }
  });
});
