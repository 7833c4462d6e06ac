/** Raw-protocol helpers for engine tests: a live engine on 127.0.0.1:0, bounded fetch and websocket waits. */
import type { Server } from "bun";
import { Engine, type EngineOptions, type EngineSocket } from "../../../protocol/engine/index.ts";
import type { EngineWsData } from "../../../protocol/engine/session.ts";

export const WAIT_MS = 3000;

export interface TestEngine {
  engine: Engine;
  server: Server<EngineWsData>;
  /** http://127.0.0.1:port */
  base: string;
  /** Engine URL with these query parameters (EIO=4 unless given). */
  url(params: Record<string, string>, scheme?: "http" | "ws"): string;
  close(): Promise<void>;
}

export function startEngine(opts: EngineOptions = {}): TestEngine {
  const engine = new Engine(opts);
  const server = engine.listen(0, "127.0.0.1");
  const base = `http://127.0.0.1:${server.port}`;
  return {
    engine,
    server,
    base,
    url(params, scheme = "http") {
      const query = new URLSearchParams({ EIO: "4", ...params });
      const root = scheme === "ws" ? base.replace("http", "ws") : base;
      return `${root}${engine.opts.path}?${query}`;
    },
    close: () => engine.close(),
  };
}

export function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A fetch that fails instead of hanging. */
export function get(url: string, init: RequestInit = {}, ms = WAIT_MS): Promise<Response> {
  return fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(ms) });
}

export function post(url: string, body: BodyInit, init: RequestInit = {}): Promise<Response> {
  return get(url, { ...init, method: "POST", body });
}

export interface OpenPacket {
  sid: string;
  upgrades: string[];
  pingInterval: number;
  pingTimeout: number;
  maxPayload: number;
}

export function parseOpen(text: string): OpenPacket {
  if (!text.startsWith("0")) throw new Error(`not an open packet: ${text}`);
  return JSON.parse(text.slice(1)) as OpenPacket;
}

/** Polling handshake; returns the session id and the raw open packet. */
export async function handshake(
  t: TestEngine,
  headers: HeadersInit = {},
): Promise<{ sid: string; raw: string }> {
  const res = await get(t.url({ transport: "polling" }), { headers });
  const raw = await res.text();
  if (res.status !== 200) throw new Error(`handshake failed: ${res.status} ${raw}`);
  return { sid: parseOpen(raw).sid, raw };
}

/** The next server-side connection. */
export function nextConnection(engine: Engine, ms = WAIT_MS): Promise<EngineSocket> {
  return withTimeout(new Promise((resolve) => engine.once("connection", resolve)), "connection", ms);
}

export function nextClose(
  socket: EngineSocket,
  ms = WAIT_MS,
): Promise<{ reason: string; description: unknown }> {
  return withTimeout(
    new Promise((resolve) => socket.once("close", (reason, description) => resolve({ reason, description }))),
    "session close",
    ms,
  );
}

/** Bun's WebSocket with a queue of received frames (text as string, binary as Uint8Array). */
export class WsClient {
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly frames: Array<string | Uint8Array> = [];
  private waiter: (() => void) | null = null;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    this.opened = withTimeout(
      new Promise<void>((resolve, reject) => {
        this.ws.addEventListener("open", () => resolve(), { once: true });
        this.ws.addEventListener("error", () => reject(new Error("websocket error")), { once: true });
      }),
      "websocket open",
    );
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason }), { once: true });
    });
    this.ws.addEventListener("message", (e) => {
      this.frames.push(typeof e.data === "string" ? e.data : new Uint8Array(e.data as ArrayBuffer));
      this.waiter?.();
    });
  }

  async next(ms = WAIT_MS): Promise<string | Uint8Array> {
    const deadline = Date.now() + ms;
    while (this.frames.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a websocket frame");
      await Promise.race([new Promise<void>((r) => (this.waiter = r)), Bun.sleep(Math.min(left, 50))]);
    }
    return this.frames.shift()!;
  }

  /** The next text frame that is not a ping (answers pings with pongs meanwhile). */
  async nextMessage(ms = WAIT_MS): Promise<string | Uint8Array> {
    for (;;) {
      const frame = await this.next(ms);
      if (frame === "2") {
        this.send("3");
        continue;
      }
      return frame;
    }
  }

  send(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  waitClosed(ms = WAIT_MS) {
    return withTimeout(this.closed, "websocket close", ms);
  }

  close(): void {
    if (this.ws.readyState <= WebSocket.OPEN) this.ws.close();
  }
}
