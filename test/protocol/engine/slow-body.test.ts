/**
 * Slow ("slowloris") polling POST bodies, over raw TCP: a body that trickles in is cut off with an
 * answer and a closed connection once its session ends or `httpRequestBodyTimeout` passes, so it cannot
 * hold a connection for as long as the client keeps dripping.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { Engine, type EngineSocket, type RawData } from "../../../protocol/engine/index.ts";
import {
  handshake,
  nextClose,
  nextConnection,
  post,
  startEngine,
  type TestEngine,
  WAIT_MS,
  WsClient,
  withTimeout,
} from "./helpers.ts";

/** Declared far beyond what is ever sent, so the body never completes on its own. */
const DECLARED_LENGTH = 100_000;
const DRIP_EVERY_MS = 20;

/** A POST sent by hand that drips one byte of its body every DRIP_EVERY_MS until stopped. */
class TricklingPost {
  private readonly socket: Socket;
  private readonly drip: ReturnType<typeof setInterval>;
  private received = "";
  /** Resolves with every byte the server wrote once it closes the connection. */
  readonly closed: Promise<string>;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.socket.on("data", (chunk) => {
      this.received += chunk.toString("latin1");
    });
    this.closed = new Promise((resolve) => {
      this.socket.on("close", () => resolve(this.received)).on("error", () => {});
    });
    this.drip = setInterval(() => {
      if (!this.socket.destroyed) this.socket.write("x");
    }, DRIP_EVERY_MS);
  }

  static async start(t: TestEngine, sid: string): Promise<TricklingPost> {
    const url = new URL(t.url({ transport: "polling", sid }));
    const socket = connect(Number(url.port), url.hostname);
    await withTimeout(new Promise((resolve) => socket.once("connect", resolve)), "tcp connect");
    socket.write(
      `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
        `Content-Type: text/plain;charset=UTF-8\r\nContent-Length: ${DECLARED_LENGTH}\r\n\r\n4`,
    );
    return new TricklingPost(socket);
  }

  /** The server's answer (status line and headers) once it has closed the connection. */
  async answer(ms = WAIT_MS): Promise<{ status: number; headers: string }> {
    const raw = await withTimeout(this.closed, "the server to answer and close the slow POST", ms);
    const head = raw.slice(0, raw.indexOf("\r\n\r\n")).toLowerCase();
    return { status: Number(head.split(" ")[1]), headers: head };
  }

  stop(): void {
    clearInterval(this.drip);
    this.socket.destroy();
  }
}

async function openSession(t: TestEngine): Promise<{ sid: string; socket: EngineSocket }> {
  const connected = nextConnection(t.engine);
  const { sid } = await handshake(t);
  return { sid, socket: await connected };
}

describe("engine polling: slow POST bodies", () => {
  // The heartbeat stays out of the way here (10 s): only the body deadline and explicit closes act.
  const t = startEngine({ pingInterval: 10_000, pingTimeout: 10_000, httpRequestBodyTimeout: 400 });
  afterAll(() => t.close());

  test("a body still trickling at httpRequestBodyTimeout is answered 408 with Connection: close; the session closes with 'transport error'", async () => {
    const { sid, socket } = await openSession(t);
    const closed = nextClose(socket);
    const slow = await TricklingPost.start(t, sid);
    try {
      const { status, headers } = await slow.answer();
      expect(status).toBe(408);
      expect(headers).toContain("connection: close");
      const { reason, description } = await closed;
      expect(reason).toBe("transport error");
      expect((description as Error).message).toBe("http request timeout");
      expect(t.engine.clients.has(sid)).toBe(false);
    } finally {
      slow.stop();
    }
  });

  test("a body still trickling when its session closes is cut off at once with a 400", async () => {
    const { sid, socket } = await openSession(t);
    const closed = nextClose(socket);
    const slow = await TricklingPost.start(t, sid);
    try {
      await Bun.sleep(60);
      // The server shutting the session down for good (no poll needed, unlike socket.close()).
      t.engine.clients.get(sid)!.terminate("forced server close");
      const { status, headers } = await slow.answer();
      // 400, not the deadline's 408: the close itself cut the body off.
      expect(status).toBe(400);
      expect(headers).toContain("connection: close");
      expect((await closed).reason).toBe("forced server close");
    } finally {
      slow.stop();
    }
  });

  test("a trickling POST to an unknown sid is refused with code 1 and its connection closed, not held open", async () => {
    const slow = await TricklingPost.start(t, "no-such-session-id00");
    try {
      const { status, headers } = await slow.answer();
      expect(status).toBe(400);
      expect(headers).toContain("connection: close");
    } finally {
      slow.stop();
    }
  });

  test("an overlapping POST closes the session; both it and the trickling one get a 400 and a closed connection", async () => {
    const { sid, socket } = await openSession(t);
    const closed = nextClose(socket);
    const slow = await TricklingPost.start(t, sid);
    try {
      await Bun.sleep(60);
      const second = await post(t.url({ transport: "polling", sid }), "4second");
      expect(second.status).toBe(400);
      expect(second.headers.get("connection")).toBe("close");
      const { status } = await slow.answer();
      expect(status).toBe(400);
      const { reason, description } = await closed;
      expect(reason).toBe("transport error");
      expect((description as Error).message).toBe("data request overlap from client");
    } finally {
      slow.stop();
    }
  });

  test("a body still trickling when the session upgrades to websocket is cut off; the session lives on", async () => {
    const { sid, socket } = await openSession(t);
    const slow = await TricklingPost.start(t, sid);
    const ws = new WsClient(t.url({ transport: "websocket", sid }, "ws"));
    try {
      await ws.opened;
      ws.send("2probe");
      expect(await ws.next()).toBe("3probe");
      const upgraded = new Promise<void>((resolve) => socket.once("upgrade", () => resolve()));
      ws.send("5");
      await withTimeout(upgraded, "upgrade");
      const { status } = await slow.answer();
      expect(status).toBe(400);
      expect(socket.state).toBe("open");
      expect(socket.transportName).toBe("websocket");
      const got: RawData[] = [];
      socket.on("message", (d) => got.push(d));
      ws.send("4still here");
      await withTimeout(
        (async () => {
          while (got.length === 0) await Bun.sleep(10);
        })(),
        "message over the websocket",
      );
      expect(got).toEqual(["still here"]);
    } finally {
      slow.stop();
      ws.close();
    }
  });

  test("a body that arrives within httpRequestBodyTimeout, however slowly, is delivered and answered ok", async () => {
    const { sid, socket } = await openSession(t);
    const got: RawData[] = [];
    socket.on("message", (d) => got.push(d));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (const part of ["4sl", "ow ", "but", "\x1e4in time"]) {
          controller.enqueue(new TextEncoder().encode(part));
          await Bun.sleep(40);
        }
        controller.close();
      },
    });
    const res = await post(t.url({ transport: "polling", sid }), body);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok");
    expect(got).toEqual(["slow but", "in time"]);
    expect(socket.state).toBe("open");
  });
});

describe("engine polling: slow POST bodies and the heartbeat", () => {
  // The body deadline stays out of the way here (10 s): only the heartbeat closes the session.
  const t = startEngine({ pingInterval: 100, pingTimeout: 100, httpRequestBodyTimeout: 10_000 });
  afterAll(() => t.close());

  test("a session lost to 'ping timeout' while its POST body trickles cuts that body off with a 400", async () => {
    const { sid, socket } = await openSession(t);
    const closed = nextClose(socket);
    // The trickling body is where the pong would have to come: the session cannot answer a ping.
    const slow = await TricklingPost.start(t, sid);
    try {
      expect((await closed).reason).toBe("ping timeout");
      const { status, headers } = await slow.answer();
      expect(status).toBe(400);
      expect(headers).toContain("connection: close");
    } finally {
      slow.stop();
    }
  });
});

describe("engine polling: maxBufferedChunks", () => {
  const t = startEngine({ pingInterval: 10_000, pingTimeout: 10_000, maxBufferedChunks: 5 });
  afterAll(() => t.close());

  test("a body cut into more chunks than maxBufferedChunks is answered 413; the session closes with 'too many chunks'", async () => {
    const { sid, socket } = await openSession(t);
    const closed = nextClose(socket);
    // One byte every DRIP_EVERY_MS: each arrives as a chunk of its own.
    const slow = await TricklingPost.start(t, sid);
    try {
      const { status, headers } = await slow.answer();
      expect(status).toBe(413);
      expect(headers).toContain("connection: close");
      const { reason, description } = await closed;
      expect(reason).toBe("transport error");
      expect((description as Error).message).toBe("too many chunks");
    } finally {
      slow.stop();
    }
  });

  test("defaults to engine.io's 10000", () => {
    expect(new Engine().opts.maxBufferedChunks).toBe(10_000);
  });
});

describe("engine option httpRequestBodyTimeout", () => {
  test("defaults to engine.io's 30 s and can be set", () => {
    expect(new Engine().opts.httpRequestBodyTimeout).toBe(30_000);
    expect(new Engine({ httpRequestBodyTimeout: 5000 }).opts.httpRequestBodyTimeout).toBe(5000);
  });
});
