/**
 * The behavioural suite of the Socket.IO layer, run once per transport configuration (websocket
 * only, polling only, polling then websocket) with the stock socket.io-client against a live server.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { ManagerOptions, SocketOptions } from "socket.io-client";
import type { ServerOptions, Socket } from "../../../protocol/index.ts";
import { Harness, next, sleep, type TransportConfig, WAIT_MS, withTimeout } from "./support.ts";

/** How a run of the suite builds its servers (another adapter, say) and what it can expect of them. */
export interface SuiteVariant {
  /** Added to every server's options (e.g. `{ adapter: createAdapter(...) }`). */
  serverOptions?: () => ServerOptions;
  /** Added to every stock client's options (`{ parser }` for a custom parser). */
  clientOptions?: Partial<ManagerOptions & SocketOptions>;
  /** Run the connection-state recovery tests (needs an adapter that stores sessions). Default true. */
  recovery?: boolean;
  /** Suffix of the describe title. */
  label?: string;
}

export function socketBehaviourSuite(transport: TransportConfig, variant: SuiteVariant = {}): void {
  describe(`Socket.IO over ${transport.name}${variant.label ? ` (${variant.label})` : ""}`, () => {
    const harnesses: Harness[] = [];
    const start = (opts: ServerOptions = {}) => {
      const h = new Harness(transport, { ...variant.serverOptions?.(), ...opts }, variant.clientOptions);
      harnesses.push(h);
      return h;
    };
    afterEach(async () => {
      await Promise.all(harnesses.splice(0).map((h) => h.close()));
    });

    describe("connection", () => {
      test("a client connects and both sides agree on the socket id", async () => {
        const h = start();
        const connection = next<[Socket]>(h.io, "connection");
        const client = await h.connected();
        const [socket] = await connection;
        expect(client.id).toBe(socket.id);
        expect(socket.connected).toBe(true);
        expect(socket.disconnected).toBe(false);
        expect(socket.recovered).toBe(false);
        expect(socket.rooms).toEqual(new Set([socket.id]));
      });

      test("the handshake carries the auth payload, the query and the headers", async () => {
        const h = start();
        const connection = next<[Socket]>(h.io, "connection");
        await h.connected("/", {
          auth: { token: "abc" },
          query: { room: "42" },
          extraHeaders: { "x-test": "yes" },
        });
        const [socket] = await connection;
        expect(socket.handshake.auth).toEqual({ token: "abc" });
        expect(socket.handshake.query.room).toBe("42");
        expect(socket.handshake.query.EIO).toBe("4");
        expect(socket.handshake.url.startsWith("/socket.io/")).toBe(true);
        expect(socket.handshake.address).toContain("127.0.0.1");
        expect(typeof socket.handshake.issued).toBe("number");
        expect(socket.handshake.secure).toBe(false);
        // Browsers ignore extraHeaders on websocket; the Node client sends them on every transport.
        expect(socket.handshake.headers["x-test"]).toBe("yes");
      });
    });

    describe("events", () => {
      test("events travel both ways with several arguments", async () => {
        const h = start();
        h.io.on("connection", (socket) => {
          socket.on("hello", (a: unknown, b: unknown) => socket.emit("welcome", { a, b }, [1, 2], null));
        });
        const client = await h.connected();
        const answer = next(client, "welcome");
        client.emit("hello", "x", { y: 1 });
        expect(await answer).toEqual([{ a: "x", b: { y: 1 } }, [1, 2], null]);
      });

      test("onAny sees every incoming event and onAnyOutgoing every outgoing one", async () => {
        const h = start();
        const seen: unknown[] = [];
        const sent: unknown[] = [];
        h.io.on("connection", (socket) => {
          socket.onAny((event, ...args) => seen.push([event, ...args]));
          socket.onAnyOutgoing((event, ...args) => sent.push([event, ...args]));
          socket.on("ping", () => {
            socket.emit("direct", 1);
            h.io.emit("broadcast", 2);
          });
        });
        const client = await h.connected();
        const got = next(client, "broadcast");
        client.emit("ping", "a");
        await got;
        expect(seen).toEqual([["ping", "a"]]);
        expect(sent).toEqual([
          ["direct", 1],
          ["broadcast", 2],
        ]);
      });

      test("emitting a reserved event name throws", async () => {
        const h = start();
        const connection = next<[Socket]>(h.io, "connection");
        await h.connected();
        const [socket] = await connection;
        expect(() => socket.emit("connect")).toThrow("reserved");
        expect(() => h.io.emit("disconnect")).toThrow("reserved");
      });
    });

    describe("acknowledgements", () => {
      test("the server answers a client's ack", async () => {
        const h = start();
        h.io.on("connection", (socket) => {
          socket.on("sum", (a: number, b: number, ack: (n: number) => void) => ack(a + b));
        });
        const client = await h.connected();
        expect(await client.timeout(WAIT_MS).emitWithAck("sum", 2, 3)).toBe(5);
      });

      test("the client answers a server's ack, with and without timeout()", async () => {
        const h = start();
        const connection = next<[Socket]>(h.io, "connection");
        const client = await h.connected();
        client.on("question", (q: string, ack: (a: string) => void) => ack(`${q}!`));
        const [socket] = await connection;
        const plain = await withTimeout(
          new Promise((resolve) => socket.emit("question", "why", (answer: unknown) => resolve(answer))),
          "plain ack",
        );
        expect(plain).toBe("why!");
        const timed = await withTimeout(
          new Promise((resolve) =>
            socket
              .timeout(WAIT_MS)
              .emit("question", "how", (err: Error | null, a: unknown) => resolve([err, a])),
          ),
          "ack with timeout",
        );
        expect(timed).toEqual([null, "how!"]);
        expect(await socket.timeout(WAIT_MS).emitWithAck("question", "what")).toBe("what!");
      });

      test("an unanswered ack fails with 'operation has timed out'", async () => {
        const h = start();
        const connection = next<[Socket]>(h.io, "connection");
        const client = await h.connected();
        client.on("silent", () => {});
        const [socket] = await connection;
        const err = await withTimeout(
          new Promise<Error>((resolve) => socket.timeout(50).emit("silent", (e: Error) => resolve(e))),
          "ack timeout",
        );
        expect(err.message).toBe("operation has timed out");
        await expect(socket.timeout(50).emitWithAck("silent")).rejects.toThrow("operation has timed out");
      });
    });

    describe("binary", () => {
      test("nested binary with several attachments round-trips both ways", async () => {
        const h = start();
        h.io.on("connection", (socket) => {
          socket.on(
            "upload",
            (payload: { files: Uint8Array[]; meta: { raw: Uint8Array } }, ack: (x: unknown) => void) => {
              ack({
                sizes: payload.files.map((f) => f.byteLength),
                back: payload,
                extra: new Uint8Array([9, 9]).buffer,
              });
            },
          );
        });
        const client = await h.connected();
        const files = [Buffer.from([1, 2, 3]), Buffer.from([4]), new Uint8Array([5, 6])];
        const answer = (await client.timeout(WAIT_MS).emitWithAck("upload", {
          files,
          meta: { raw: Buffer.from("hi"), ab: new Uint8Array([8]).buffer },
        })) as {
          sizes: number[];
          back: { files: Uint8Array[]; meta: { raw: Uint8Array; ab: Uint8Array } };
          extra: Uint8Array;
        };
        expect(answer.sizes).toEqual([3, 1, 2]);
        expect([...answer.back.files[0]!]).toEqual([1, 2, 3]);
        expect(Buffer.from(answer.back.meta.raw).toString()).toBe("hi");
        expect([...new Uint8Array(answer.back.meta.ab)]).toEqual([8]);
        expect([...new Uint8Array(answer.extra)]).toEqual([9, 9]);
      });

      test("an empty attachment between others arrives intact", async () => {
        const h = start();
        h.io.on("connection", (socket) =>
          socket.on("echo", (x: unknown, ack: (x: unknown) => void) => ack(x)),
        );
        const client = await h.connected();
        const parts = [Buffer.from([1]), Buffer.alloc(0), Buffer.from([2])];
        const back = (await client.timeout(WAIT_MS).emitWithAck("echo", parts)) as Uint8Array[];
        expect(back.map((b) => [...new Uint8Array(b)])).toEqual([[1], [], [2]]);
      });

      test("a binary broadcast reaches every member with its attachments", async () => {
        const h = start();
        const [a, b] = await Promise.all([h.connected(), h.connected()]);
        const got = Promise.all([next(a, "blob"), next(b, "blob")]);
        h.io.emit("blob", { data: new Uint8Array([7, 8]), more: [Buffer.from("x")] }, "tail");
        for (const [payload, tail] of (await got) as unknown as [
          { data: Uint8Array; more: Uint8Array[] },
          string,
        ][]) {
          expect([...new Uint8Array(payload.data)]).toEqual([7, 8]);
          expect(Buffer.from(payload.more[0]!).toString()).toBe("x");
          expect(tail).toBe("tail");
        }
      });
    });

    describe("namespaces", () => {
      test("a static namespace has its own sockets and events", async () => {
        const h = start();
        h.io.of("/chat").on("connection", (socket) => socket.emit("where", socket.nsp.name));
        const client = h.client("/chat");
        expect(await next(client, "where")).toEqual(["/chat"]);
        expect(h.io.of("/chat").sockets.size).toBe(1);
        expect(h.io.sockets.sockets.size).toBe(0);
      });

      test("dynamic namespaces are created on demand from a RegExp or a function", async () => {
        const h = start();
        const parent = h.io.of(/^\/team-\d+$/);
        parent.on("connection", (socket) => socket.emit("joined", socket.nsp.name));
        h.io
          .of((name, auth, allow) => allow(null, name === "/fn" && auth.ok === true))
          .on("connection", (socket) => socket.emit("joined", socket.nsp.name));
        const team = h.client("/team-7");
        expect(await next(team, "joined")).toEqual(["/team-7"]);
        const viaFn = h.client("/fn", { auth: { ok: true } });
        expect(await next(viaFn, "joined")).toEqual(["/fn"]);
        const got = next(team, "all-teams");
        parent.emit("all-teams", 1);
        expect(await got).toEqual([1]);
      });

      test("an unknown namespace is refused with 'Invalid namespace'", async () => {
        const h = start();
        const client = h.client("/nowhere");
        const [err] = await next<[Error]>(client, "connect_error");
        expect(err.message).toBe("Invalid namespace");
      });
    });

    describe("middlewares", () => {
      test("a connection middleware error reaches the client with its data", async () => {
        const h = start();
        h.io.use((socket, nextFn) => {
          if (socket.handshake.auth.token === "good") return nextFn();
          const err = Object.assign(new Error("not authorized"), { data: { code: 401 } });
          nextFn(err);
        });
        const refused = h.client("/", { auth: { token: "bad" } });
        const [err] = await next<[Error & { data: unknown }]>(refused, "connect_error");
        expect(err.message).toBe("not authorized");
        expect(err.data).toEqual({ code: 401 });
        expect(h.io.sockets.sockets.size).toBe(0);
        await h.connected("/", { auth: { token: "good" } });
        expect(h.io.sockets.sockets.size).toBe(1);
      });

      test("an async middleware can join rooms and set data before the connection", async () => {
        const h = start();
        h.io.use(async (socket, nextFn) => {
          await sleep(5);
          socket.data = { user: "u1" };
          socket.join("user:u1");
          nextFn();
        });
        const connection = next<[Socket]>(h.io, "connection");
        const client = await h.connected();
        const [socket] = await connection;
        expect(socket.data).toEqual({ user: "u1" });
        const got = next(client, "to-user");
        h.io.to("user:u1").emit("to-user", "hi");
        expect(await got).toEqual(["hi"]);
      });

      test("a per-packet middleware error drops the event and emits 'error' on the socket", async () => {
        const h = start();
        const errors: string[] = [];
        const events: unknown[] = [];
        h.io.on("connection", (socket) => {
          socket.use(([event], nextFn) => (event === "forbidden" ? nextFn(new Error("nope")) : nextFn()));
          socket.on("error", (err) => errors.push(err.message));
          socket.on("forbidden", () => events.push("forbidden"));
          socket.on("allowed", (ack: () => void) => ack());
        });
        const client = await h.connected();
        client.emit("forbidden");
        await client.timeout(WAIT_MS).emitWithAck("allowed");
        expect(errors).toEqual(["nope"]);
        expect(events).toEqual([]);
      });
    });

    describe("rooms and broadcasts", () => {
      test("to(room) reaches members, except() and socket.to() exclude", async () => {
        const h = start();
        const sockets: Socket[] = [];
        h.io.on("connection", (socket) => {
          sockets.push(socket);
          socket.join("room");
        });
        const [a, b, c] = await Promise.all([h.connected(), h.connected(), h.connected()]);
        const outsider = await h.connected();
        sockets.at(-1)!.leave("room");
        const received: Record<string, string[]> = { a: [], b: [], c: [], outsider: [] };
        for (const [name, client] of Object.entries({ a, b, c, outsider })) {
          client!.onAny((event: string) => received[name]!.push(event));
        }
        h.io.to("room").emit("all");
        h.io.to("room").except(b!.id!).emit("not-b");
        h.serverSocket(a!).to("room").emit("from-a");
        h.serverSocket(a!).broadcast.emit("everyone-but-a");
        h.io.to("room").to(c!.id!).emit("dedup");
        h.io.except("room").emit("outside");
        await withTimeout(
          (async () => {
            while (received.outsider!.length < 2 || received.a!.length < 3) await sleep(5);
          })(),
          "broadcasts",
        );
        await sleep(50);
        expect(received.a).toEqual(["all", "not-b", "dedup"]);
        expect(received.b).toEqual(["all", "from-a", "everyone-but-a", "dedup"]);
        expect(received.c).toEqual(["all", "not-b", "from-a", "everyone-but-a", "dedup"]);
        expect(received.outsider).toEqual(["everyone-but-a", "outside"]);
      });

      test("fetchSockets, socketsJoin, socketsLeave and disconnectSockets act on the selection", async () => {
        const h = start();
        const [a, b] = await Promise.all([h.connected(), h.connected()]);
        h.io.in(a!.id!).socketsJoin(["x", "y"]);
        const inX = await h.io.in("x").fetchSockets();
        expect(inX.map((s) => s.id)).toEqual([a!.id!]);
        expect(inX[0]!.rooms).toEqual(new Set([a!.id!, "x", "y"]));
        h.io.in("x").socketsLeave("y");
        expect(h.serverSocket(a!).rooms).toEqual(new Set([a!.id!, "x"]));
        expect((await h.io.fetchSockets()).length).toBe(2);
        const gone = next(b!, "disconnect");
        h.io.except("x").disconnectSockets();
        expect(await gone).toEqual(["io server disconnect", undefined]);
        expect(h.io.sockets.sockets.size).toBe(1);
      });

      test("a broadcast ack collects one answer per receiver", async () => {
        const h = start();
        const clients = await Promise.all([h.connected(), h.connected(), h.connected()]);
        clients.forEach((client, i) => {
          client.on("count", (ack: (n: number) => void) => ack(i));
        });
        const responses = await h.io.timeout(WAIT_MS).emitWithAck("count");
        expect([...(responses as number[])].sort()).toEqual([0, 1, 2]);
        const viaCallback = await withTimeout(
          new Promise((resolve) =>
            h.io.timeout(WAIT_MS).emit("count", (err: Error | null, r: number[]) => resolve([err, r.length])),
          ),
          "callback acks",
        );
        expect(viaCallback).toEqual([null, 3]);
      });

      test("a broadcast ack times out when a receiver stays silent", async () => {
        const h = start();
        const [talker, silent] = await Promise.all([h.connected(), h.connected()]);
        talker!.on("count", (ack: (n: number) => void) => ack(1));
        silent!.on("count", () => {});
        const [err, responses] = await withTimeout(
          new Promise<[Error | null, unknown[]]>((resolve) =>
            h.io.timeout(500).emit("count", (e: Error | null, r: unknown[]) => resolve([e, r])),
          ),
          "ack timeout",
        );
        expect(err?.message).toBe("operation has timed out");
        expect(responses).toEqual([1]);
      });

      test("a volatile broadcast reaches clients that are ready", async () => {
        const h = start();
        const client = await h.connected();
        await sleep(transport.transports[0] === "polling" ? 100 : 0);
        const got = next(client, "tick");
        h.io.volatile.emit("tick", 1);
        expect(await got).toEqual([1]);
      });
    });

    describe("disconnection", () => {
      test("client socket.disconnect() is 'client namespace disconnect' on the server", async () => {
        const h = start();
        const connection = next<[Socket]>(h.io, "connection");
        const client = await h.connected();
        const [socket] = await connection;
        const disconnecting = next(socket, "disconnecting");
        const disconnected = next(socket, "disconnect");
        client.disconnect();
        expect((await disconnecting)[0]).toBe("client namespace disconnect");
        expect((await disconnected)[0]).toBe("client namespace disconnect");
        expect(socket.connected).toBe(false);
        expect(h.io.sockets.adapter.rooms.size).toBe(0);
      });

      test("server socket.disconnect() is 'server namespace disconnect', the client sees 'io server disconnect'", async () => {
        const h = start();
        const connection = next<[Socket]>(h.io, "connection");
        const client = await h.connected();
        const [socket] = await connection;
        const serverSide = next(socket, "disconnect");
        const clientSide = next(client, "disconnect");
        socket.disconnect();
        expect((await serverSide)[0]).toBe("server namespace disconnect");
        expect((await clientSide)[0]).toBe("io server disconnect");
      });

      test("disconnect(true) closes the whole connection and every namespace on it", async () => {
        const h = start();
        h.io.of("/other");
        const client = await h.connected();
        // A second namespace over the same connection (same Manager).
        const sameConn = client.io.socket("/other");
        await next(sameConn, "connect");
        const socket = h.serverSocket(client);
        const otherSocket = h.serverSocket(sameConn, "/other");
        const reasons = Promise.all([next(socket, "disconnect"), next(otherSocket, "disconnect")]);
        const clientReasons = Promise.all([next(client, "disconnect"), next(sameConn, "disconnect")]);
        const closed = next(client.io, "close");
        socket.disconnect(true);
        expect((await reasons).map((r) => r[0])).toEqual([
          "server namespace disconnect",
          "server namespace disconnect",
        ]);
        expect((await clientReasons).map((r) => r[0])).toEqual([
          "io server disconnect",
          "io server disconnect",
        ]);
        await closed;
      });

      test("a client closing its transport is 'transport close' on the server", async () => {
        const h = start();
        const connection = next<[Socket]>(h.io, "connection");
        const client = await h.connected();
        const [socket] = await connection;
        const reason = next(socket, "disconnect");
        client.io.engine.close();
        expect((await reason)[0]).toBe("transport close");
      });

      test("the server closing the engine session is 'forced close', the client sees 'transport close'", async () => {
        const h = start();
        const connection = next<[Socket]>(h.io, "connection");
        const client = await h.connected();
        const [socket] = await connection;
        const serverSide = next(socket, "disconnect");
        const clientSide = next(client, "disconnect");
        socket.conn.close();
        expect((await serverSide)[0]).toBe("forced close");
        expect((await clientSide)[0]).toBe("transport close");
      });

      test("a malformed packet from the client is 'parse error'", async () => {
        const h = start();
        const connection = next<[Socket]>(h.io, "connection");
        const client = await h.connected();
        const [socket] = await connection;
        const reason = next(socket, "disconnect");
        client.io.engine.send("2[not json");
        expect((await reason)[0]).toBe("parse error");
      });

      test("a client that stops answering pings is 'ping timeout'", async () => {
        const h = start({ pingInterval: 100, pingTimeout: 100 });
        const connection = next<[Socket]>(h.io, "connection");
        const client = await h.connected();
        const [socket] = await connection;
        const reason = next(socket, "disconnect");
        // Swallow the engine's pong answers.
        const engine = client.io.engine as unknown as {
          _sendPacket: (type: string, ...rest: unknown[]) => void;
        };
        const send = engine._sendPacket.bind(engine);
        engine._sendPacket = (type, ...rest) => {
          if (type !== "pong") send(type, ...rest);
        };
        expect((await reason)[0]).toBe("ping timeout");
      });

      test("io.close() disconnects everyone with 'server shutting down'", async () => {
        const h = start();
        const connection = next<[Socket]>(h.io, "connection");
        const client = await h.connected();
        const [socket] = await connection;
        const serverSide = next(socket, "disconnect");
        const clientSide = next(client, "disconnect");
        await h.io.close();
        expect((await serverSide)[0]).toBe("server shutting down");
        // A polling client whose pending request is cut by the server's stop sees a transport error.
        expect(["transport close", "transport error"]).toContain((await clientSide)[0] as string);
      });

      test("the client reconnects after the server drops its transport", async () => {
        const h = start();
        const client = await h.connected("/", {
          reconnection: true,
          reconnectionDelay: 20,
          reconnectionDelayMax: 50,
        });
        const firstId = client.id;
        const reconnected = next(client, "connect");
        h.serverSocket(client).conn.close();
        await reconnected;
        expect(client.connected).toBe(true);
        expect(client.id).not.toBe(firstId);
      });
    });

    describe.skipIf(variant.recovery === false)("connection state recovery", () => {
      test("a client that lost its transport gets its id, rooms, data and missed packets back", async () => {
        const h = start({ connectionStateRecovery: { maxDisconnectionDuration: 10_000 } });
        const sockets: Socket[] = [];
        h.io.on("connection", (socket) => {
          sockets.push(socket);
          if (!socket.recovered) {
            socket.join("news");
            socket.data = { name: "ada" };
          }
        });
        const client = await h.connected("/", {
          reconnection: true,
          reconnectionDelay: 300,
          reconnectionDelayMax: 300,
        });
        const received: unknown[] = [];
        client.on("news", (n: number) => received.push(n));
        const first = next(client, "news");
        h.io.to("news").emit("news", 1);
        await first;
        const original = sockets[0]!;
        const id = original.id;

        const lost = next(original, "disconnect");
        client.io.engine.close();
        expect((await lost)[0]).toBe("transport close");
        h.io.to("news").emit("news", 2);
        h.io.to("elsewhere").emit("news", 99);
        h.io.emit("news", 3);

        await next(client, "connect");
        await withTimeout(
          (async () => {
            while (received.length < 3) await sleep(5);
          })(),
          "missed packets",
        );
        expect(client.recovered).toBe(true);
        expect(received).toEqual([1, 2, 3]);
        const restored = sockets[1]!;
        expect(restored.recovered).toBe(true);
        expect(restored.id).toBe(id);
        expect(restored.rooms).toEqual(new Set([id, "news"]));
        expect(restored.data).toEqual({ name: "ada" });
      });

      test("a session the server closed by force is recovered too", async () => {
        const h = start({ connectionStateRecovery: {} });
        const sockets: Socket[] = [];
        h.io.on("connection", (socket) => {
          sockets.push(socket);
          if (!socket.recovered) socket.join("news");
        });
        const client = await h.connected("/", {
          reconnection: true,
          reconnectionDelay: 200,
          reconnectionDelayMax: 200,
        });
        const first = next(client, "news");
        h.io.to("news").emit("news", 1);
        await first;
        const lost = next(sockets[0]!, "disconnect");
        sockets[0]!.conn.close();
        expect((await lost)[0]).toBe("forced close");
        h.io.to("news").emit("news", 2);
        const missed = next(client, "news");
        await next(client, "connect");
        expect((await missed)[0]).toBe(2);
        expect(client.recovered).toBe(true);
        expect(sockets[1]!.id).toBe(sockets[0]!.id);
      });

      test("after maxDisconnectionDuration the client gets a new session", async () => {
        const h = start({ connectionStateRecovery: { maxDisconnectionDuration: 20 } });
        const sockets: Socket[] = [];
        h.io.on("connection", (socket) => sockets.push(socket));
        const client = await h.connected("/", {
          reconnection: true,
          reconnectionDelay: 150,
          reconnectionDelayMax: 150,
        });
        const first = next(client, "news");
        h.io.emit("news", 1);
        await first;
        const lost = next(sockets[0]!, "disconnect");
        client.io.engine.close();
        await lost;
        await next(client, "connect");
        expect(client.recovered).toBe(false);
        expect(sockets[1]!.recovered).toBe(false);
        expect(sockets[1]!.id).not.toBe(sockets[0]!.id);
      });

      test("a client without a valid offset starts a new session", async () => {
        const h = start({ connectionStateRecovery: {} });
        const connection = next<[Socket]>(h.io, "connection");
        await h.connected("/", { auth: { pid: "unknown", offset: "nope" } });
        const [socket] = await connection;
        expect(socket.recovered).toBe(false);
        expect(socket.pid).toBeString();
      });
    });
  });
}
