/**
 * A throwing or rejecting application hook never takes the process down: it is logged and answered
 * as socket.io answers it (CONNECT_ERROR for a connection middleware, "Invalid namespace" for a
 * dynamic-namespace function, an "error" event for a per-socket middleware), and the server keeps
 * serving other clients. Every test also proves that nothing escaped as an uncaught exception or an
 * unhandled rejection (which would end a Bun or Node process).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Socket as ClientSocket } from "socket.io-client";
import type { Server } from "../../../protocol/index.ts";
import { Harness, next, sleep, TRANSPORTS, WAIT_MS, withTimeout } from "./support.ts";

const escaped: unknown[] = [];
const onEscape = (err: unknown) => escaped.push(err);
beforeAll(() => {
  process.on("uncaughtException", onEscape);
  process.on("unhandledRejection", onEscape);
});
afterAll(() => {
  process.off("uncaughtException", onEscape);
  process.off("unhandledRejection", onEscape);
});

let h: Harness;
afterEach(async () => {
  await h?.close();
});

function setup(configure: (io: Server) => void): Harness {
  thrown = 0;
  h = new Harness(TRANSPORTS.websocket, { connectionStateRecovery: undefined });
  // Every server of this suite answers "echo" on "/", to prove it still serves.
  h.io.on("connection", (socket) =>
    socket.on("echo", (value: unknown, ack: (v: unknown) => void) => ack(value)),
  );
  configure(h.io);
  return h;
}

/** A fresh client on "/" gets its echo back: the server is alive and serving. */
async function stillServes(): Promise<void> {
  await until("the hook to run", () => thrown > 0);
  await sleep(20); // let a late rejection surface before looking
  const other = await h.connected();
  expect(await other.timeout(WAIT_MS).emitWithAck("echo", "alive")).toBe("alive");
  expect(escaped).toEqual([]);
}

/** Errors the hooks of the current test threw: proves each hook ran before the checks. */
let thrown = 0;
const boom = () => {
  thrown++;
  return new Error("boom");
};

/** Resolves once `done()` holds (bounded): the server side of a disconnect takes a moment. */
function until(what: string, done: () => boolean): Promise<void> {
  return withTimeout(
    (async () => {
      while (!done()) await sleep(5);
    })(),
    what,
  );
}

async function connectError(socket: ClientSocket): Promise<Error> {
  const [err] = await next<[Error]>(socket, "connect_error");
  return err;
}

describe("connection middlewares (io.use)", () => {
  test("a middleware that throws refuses the socket with CONNECT_ERROR", async () => {
    setup((io) =>
      io.of("/guarded").use(() => {
        throw boom();
      }),
    );
    expect((await connectError(h.client("/guarded"))).message).toBe("boom");
    await stillServes();
  });

  test("an async middleware that rejects refuses the socket with CONNECT_ERROR", async () => {
    setup((io) =>
      io.of("/guarded").use(async () => {
        await sleep(1);
        throw boom();
      }),
    );
    expect((await connectError(h.client("/guarded"))).message).toBe("boom");
    await stillServes();
  });
});

describe("per-socket middlewares (socket.use)", () => {
  for (const [name, middleware] of [
    [
      "throws",
      () => {
        throw boom();
      },
    ],
    [
      "rejects",
      async () => {
        await sleep(1);
        throw boom();
      },
    ],
  ] as const) {
    test(`a per-packet middleware that ${name} drops the event and emits "error" on the socket`, async () => {
      const errors: Error[] = [];
      const heard: unknown[] = [];
      setup((io) =>
        io.of("/guarded").on("connection", (socket) => {
          socket.use(middleware);
          socket.on("error", (err) => errors.push(err));
          socket.on("hello", (v) => heard.push(v));
        }),
      );
      const client = await h.connected("/guarded");
      client.emit("hello", 1);
      await stillServes();
      expect(errors.map((e) => e.message)).toEqual(["boom"]);
      expect(heard).toEqual([]);
    });
  }

  test("without an error listener the failure is only logged", async () => {
    setup((io) =>
      io.of("/guarded").on("connection", (socket) =>
        socket.use(() => {
          throw boom();
        }),
      ),
    );
    const client = await h.connected("/guarded");
    client.emit("hello");
    await stillServes();
    expect(client.connected).toBe(true);
  });
});

describe("event handlers", () => {
  test("a handler that throws is logged; the socket and its later events go on", async () => {
    const heard: number[] = [];
    setup((io) =>
      io.of("/guarded").on("connection", (socket) => {
        socket.on("fail", () => {
          throw boom();
        });
        socket.on("count", (n: number) => heard.push(n));
      }),
    );
    const client = await h.connected("/guarded");
    client.emit("fail");
    client.emit("count", 1);
    await stillServes();
    expect(heard).toEqual([1]);
    expect(client.connected).toBe(true);
  });

  test("an async handler whose promise rejects is logged", async () => {
    setup((io) =>
      io.of("/guarded").on("connection", (socket) =>
        socket.on("fail", async () => {
          await sleep(1);
          throw boom();
        }),
      ),
    );
    (await h.connected("/guarded")).emit("fail");
    await stillServes();
  });

  test("a throwing onAny listener does not stop the event handler", async () => {
    const heard: number[] = [];
    setup((io) =>
      io.of("/guarded").on("connection", (socket) => {
        socket.onAny(() => {
          throw boom();
        });
        socket.on("count", (n: number) => heard.push(n));
      }),
    );
    (await h.connected("/guarded")).emit("count", 7);
    await stillServes();
    expect(heard).toEqual([7]);
  });
});

describe("ack callbacks", () => {
  test("an ack callback that throws when the client answers is logged", async () => {
    setup((io) =>
      io.of("/guarded").on("connection", (socket) =>
        socket.emit("ask", () => {
          throw boom();
        }),
      ),
    );
    const client = h.client("/guarded");
    client.on("ask", (ack: () => void) => ack());
    await next(client, "connect");
    await stillServes();
  });

  test("an ack callback that throws on timeout (in a timer) is logged", async () => {
    setup((io) =>
      io.of("/guarded").on("connection", (socket) =>
        socket.timeout(10).emit("ask", () => {
          throw boom();
        }),
      ),
    );
    await h.connected("/guarded");
    await stillServes();
  });

  test("a broadcast ack collector that throws on timeout is logged", async () => {
    setup((io) =>
      io.of("/guarded").on("connection", () =>
        io
          .of("/guarded")
          .timeout(10)
          .emit("ask", () => {
            throw boom();
          }),
      ),
    );
    await h.connected("/guarded");
    await stillServes();
  });
});

describe("connection and disconnect listeners", () => {
  test("a throwing connection listener is logged and the later listeners still run", async () => {
    let later = false;
    setup((io) => {
      const nsp = io.of("/guarded");
      nsp.on("connection", () => {
        throw boom();
      });
      nsp.on("connection", () => {
        later = true;
      });
    });
    const client = await h.connected("/guarded");
    expect(later).toBe(true);
    expect(client.connected).toBe(true);
    await stillServes();
  });

  test("an async connection listener that rejects is logged", async () => {
    setup((io) =>
      io.of("/guarded").on("connection", async () => {
        await sleep(1);
        throw boom();
      }),
    );
    await h.connected("/guarded");
    await stillServes();
  });

  test("a throwing disconnect listener does not keep the socket in the namespace", async () => {
    setup((io) =>
      io.of("/guarded").on("connection", (socket) =>
        socket.on("disconnect", () => {
          throw boom();
        }),
      ),
    );
    const client = await h.connected("/guarded");
    client.disconnect();
    await until("the socket to leave", () => h.io.of("/guarded").sockets.size === 0);
    await stillServes();
  });
});

describe("dynamic namespaces", () => {
  test("a namespace function that throws refuses the name with Invalid namespace", async () => {
    setup((io) =>
      io.of(() => {
        throw boom();
      }),
    );
    expect((await connectError(h.client("/dynamic-1"))).message).toBe("Invalid namespace");
    await stillServes();
  });

  test("an async namespace function that rejects refuses the name with Invalid namespace", async () => {
    setup((io) =>
      io.of(async () => {
        await sleep(1);
        throw boom();
      }),
    );
    expect((await connectError(h.client("/dynamic-1"))).message).toBe("Invalid namespace");
    await stillServes();
  });

  test("a later pattern may still accept a name an earlier failing one refused", async () => {
    setup((io) => {
      io.of(() => {
        throw boom();
      });
      io.of(/^\/dynamic-\d+$/);
    });
    await h.connected("/dynamic-2");
    await stillServes();
  });
});

describe("adapter hooks", () => {
  test("room event listeners that throw or reject are logged and the join completes", async () => {
    setup((io) => {
      const adapter = io.of("/guarded").adapter;
      adapter.on("create-room", () => {
        throw boom();
      });
      adapter.on("join-room", async () => {
        throw boom();
      });
      adapter.on("leave-room", () => {
        throw boom();
      });
    });
    const client = await h.connected("/guarded");
    const socket = h.serverSocket(client, "/guarded");
    await socket.join("room-1");
    expect(socket.rooms.has("room-1")).toBe(true);
    client.disconnect();
    await until("every room to empty", () => h.io.of("/guarded").adapter.rooms.size === 0);
    await stillServes();
  });

  test("an adapter whose persistSession and serverCount reject is logged", async () => {
    thrown = 0;
    h = new Harness(TRANSPORTS.websocket, { connectionStateRecovery: {} });
    h.io.on("connection", (socket) =>
      socket.on("echo", (value: unknown, ack: (v: unknown) => void) => ack(value)),
    );
    const nsp = h.io.of("/guarded");
    nsp.adapter.persistSession = () => Promise.reject(boom());
    nsp.adapter.serverCount = () => Promise.reject(boom());
    const client = await h.connected("/guarded");
    nsp.timeout(10).emit("ask", () => {});
    await until("serverCount to be asked", () => thrown === 1);
    // The engine closes the transport: a recoverable reason, so the session is persisted.
    h.serverSocket(client, "/guarded").conn.close();
    await until("persistSession to be asked", () => thrown === 2);
    await stillServes();
  });
});
