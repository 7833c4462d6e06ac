/**
 * A websocket client on a raw TCP socket (node:net), for the cases no well-behaved client can
 * produce: a peer that stops reading, goes silent without closing (half-open), sends arbitrary
 * frames, or whose upgrade is refused (the raw HTTP answer is kept).
 */
import { connect, type Socket } from "node:net";
import { WAIT_MS, withTimeout } from "./wait.ts";

const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;
const HEADER_END = "\r\n\r\n";
/** A fixed key: the server's Sec-WebSocket-Accept is not what these tests check. */
const WS_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

export interface RawWsOptions {
  /** Answer Engine.IO pings ("2") with pongs ("3"). Default true; false makes a silent peer. */
  answerPings?: boolean;
  /** Extra request headers (Origin, Authorization, …). */
  headers?: Record<string, string>;
}

export interface UpgradeAnswer {
  status: number;
  /** Raw header block of the answer. */
  head: string;
  /** Body of a refused upgrade (the engine's JSON error). */
  body: string;
}

function frame(opcode: number, payload: Buffer): Buffer {
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const len = payload.length;
  const header = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = 0x80 | opcode;
  if (len < 126) header[1] = 0x80 | len;
  else if (len < 65536) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(len, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
  return Buffer.concat([header, Buffer.from(mask), masked]);
}

export class RawWs {
  /** Text messages received, oldest first (consumed by `next`). */
  readonly messages: string[] = [];
  /** Every text message ever received (never consumed). */
  readonly history: string[] = [];
  closeFrame: { code: number; reason: string } | null = null;
  ended = false;
  private buffer = Buffer.alloc(0);
  private upgraded = false;
  private waiters: (() => void)[] = [];
  private readonly endedPromise: Promise<void>;

  private constructor(
    readonly socket: Socket,
    private readonly options: RawWsOptions,
  ) {
    this.endedPromise = new Promise((resolve) => {
      const done = () => {
        this.ended = true;
        this.wake();
        resolve();
      };
      socket.on("close", done);
      socket.on("error", done);
    });
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      if (this.upgraded) this.parseFrames();
      this.wake();
    });
  }

  /**
   * Opens a TCP connection and sends the upgrade request for `path` (with its query). Resolves
   * with the client and the server's answer; on a 101 the client is ready for frames.
   */
  static async open(
    baseUrl: string,
    path: string,
    options: RawWsOptions = {},
  ): Promise<{ ws: RawWs; answer: UpgradeAnswer }> {
    const url = new URL(baseUrl);
    const socket = connect(Number(url.port), url.hostname);
    socket.setNoDelay(true);
    const ws = new RawWs(socket, options);
    await withTimeout(new Promise((r, j) => socket.once("connect", r).once("error", j)), "tcp connect");
    const extra = Object.entries(options.headers ?? {})
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    );
    const answer = await ws.readUpgradeAnswer();
    return { ws, answer };
  }

  private async readUpgradeAnswer(): Promise<UpgradeAnswer> {
    await this.until(() => this.buffer.includes(HEADER_END) || this.ended, "upgrade answer");
    const end = this.buffer.indexOf(HEADER_END);
    if (end < 0) return { status: 0, head: "", body: "" };
    const head = this.buffer.subarray(0, end).toString("latin1");
    const status = Number(head.split(" ")[1]);
    this.buffer = this.buffer.subarray(end + HEADER_END.length);
    if (status === 101) {
      this.upgraded = true;
      this.parseFrames();
      return { status, head, body: "" };
    }
    const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? "0");
    await this.until(() => this.buffer.length >= length || this.ended, "refusal body");
    return { status, head, body: this.buffer.subarray(0, length).toString("utf8") };
  }

  private parseFrames(): void {
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) return;
      const opcode = b[0]! & 0x0f;
      let len = b[1]! & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + len) return;
      const payload = b.subarray(offset, offset + len);
      this.buffer = b.subarray(offset + len);
      if (opcode === OP_TEXT) this.onText(payload.toString("utf8"));
      else if (opcode === OP_BINARY) this.onText(`<binary ${payload.length}>`);
      else if (opcode === OP_PING) this.socket.write(frame(OP_PONG, Buffer.from(payload)));
      else if (opcode === OP_CLOSE)
        this.closeFrame = {
          code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005,
          reason: payload.subarray(2).toString("utf8"),
        };
    }
  }

  private onText(text: string): void {
    this.history.push(text);
    if (text === "2" && this.options.answerPings !== false) {
      this.sendText("3");
      return;
    }
    this.messages.push(text);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async until(check: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
    await withTimeout(
      (async () => {
        while (!check()) await new Promise<void>((r) => this.waiters.push(r));
      })(),
      what,
      ms,
    );
  }

  /** The next text message (pings excluded when answered), within `ms`. */
  async next(ms = WAIT_MS): Promise<string> {
    await this.until(() => this.messages.length > 0 || this.ended, "a websocket message", ms);
    const message = this.messages.shift();
    if (message === undefined) throw new Error("connection ended before a message arrived");
    return message;
  }

  /** Waits for a message for which `match` is true, skipping the others. */
  async nextMatching(match: (m: string) => boolean, ms = WAIT_MS): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = await this.next(Math.max(1, deadline - Date.now()));
      if (match(m)) return m;
    }
  }

  sendText(text: string): void {
    if (!this.socket.destroyed) this.socket.write(frame(OP_TEXT, Buffer.from(text, "utf8")));
  }

  sendBinary(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(frame(OP_BINARY, Buffer.from(bytes)));
  }

  /** Writes raw bytes (a malformed frame). */
  sendRaw(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Engine.IO open + Socket.IO CONNECT to "/" with `auth`; resolves with the CONNECT answer. */
  async connectSocketIo(auth?: Record<string, unknown>): Promise<string> {
    const open = await this.next();
    if (!open.startsWith("0")) throw new Error(`expected an open packet, got ${open}`);
    this.sendText(auth ? `40${JSON.stringify(auth)}` : "40");
    return this.nextMatching((m) => m.startsWith("40") || m.startsWith("44"));
  }

  /** Stops reading from the kernel: the server's writes pile up in its buffers. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Resolves when the server (or the network) ended the connection. */
  async waitEnded(ms = WAIT_MS): Promise<void> {
    await withTimeout(this.endedPromise, "the connection to end", ms);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** One raw HTTP/1.1 exchange on a fresh TCP connection (for requests fetch refuses to send). */
export async function rawHttp(
  baseUrl: string,
  request: string | Buffer,
  ms = WAIT_MS,
): Promise<{ status: number; head: string; body: string }> {
  const url = new URL(baseUrl);
  const socket = connect(Number(url.port), url.hostname);
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve) => {
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("close", () => resolve());
    socket.on("error", () => resolve());
  });
  socket.write(request);
  try {
    await withTimeout(
      (async () => {
        for (;;) {
          const all = Buffer.concat(chunks);
          const end = all.indexOf(HEADER_END);
          if (end >= 0) {
            const head = all.subarray(0, end).toString("latin1");
            const length = /content-length:\s*(\d+)/i.exec(head)?.[1];
            if (length !== undefined && all.length >= end + 4 + Number(length)) return;
          }
          if (socket.destroyed) return;
          await Promise.race([done, Bun.sleep(10)]);
        }
      })(),
      "raw HTTP answer",
      ms,
    );
  } finally {
    socket.destroy();
  }
  const all = Buffer.concat(chunks);
  const end = all.indexOf(HEADER_END);
  if (end < 0) return { status: 0, head: all.toString("latin1"), body: "" };
  const head = all.subarray(0, end).toString("latin1");
  return { status: Number(head.split(" ")[1]), head, body: all.subarray(end + 4).toString("utf8") };
}
