/** A hand-written HTTP/websocket exchange over raw TCP, for tests that check the exact bytes on the wire. */
import { connect, type Socket } from "node:net";
import { WAIT_MS, withTimeout } from "./helpers.ts";

/** A TCP connection that collects every byte the server writes. */
export class RawConnection {
  private received = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.waiter?.();
    });
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        resolve();
        this.waiter?.();
      });
      socket.on("error", () => {});
    });
  }

  static async open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    await withTimeout(new Promise((resolve) => socket.once("connect", resolve)), "tcp connect");
    return new RawConnection(socket);
  }

  write(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  /** Everything received so far. */
  get bytes(): Buffer {
    return this.received;
  }

  /** Waits until `done(bytes)` holds or the connection closes. */
  async until(done: (bytes: Buffer) => boolean, what: string, ms = WAIT_MS): Promise<Buffer> {
    await withTimeout(
      (async () => {
        while (!done(this.received) && !this.socket.destroyed) {
          await Promise.race([new Promise<void>((r) => (this.waiter = r)), Bun.sleep(50)]);
        }
      })(),
      what,
      ms,
    );
    return this.received;
  }

  waitClosed(ms = WAIT_MS): Promise<void> {
    return withTimeout(this.closed, "the server to close the connection", ms);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Sends a websocket upgrade request for `url` (ws://…) with optional extra header lines. */
export async function rawUpgrade(
  url: string,
  extraHeaders: Record<string, string> = {},
): Promise<RawConnection> {
  const conn = await RawConnection.open(url.replace(/^ws/, "http"));
  const { host, pathname, search } = new URL(url);
  const extra = Object.entries(extraHeaders)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  conn.write(
    `GET ${pathname}${search} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
  );
  return conn;
}

/** The status code of the HTTP answer at the start of `bytes`, once its head is complete. */
export function statusOf(bytes: Buffer): number {
  const head = bytes.toString("latin1");
  return Number(head.slice(0, head.indexOf("\r\n")).split(" ")[1]);
}

/** The bytes after the HTTP head (the body, or the websocket frames after a 101). */
export function afterHead(bytes: Buffer): Buffer {
  const end = bytes.indexOf("\r\n\r\n");
  return end === -1 ? Buffer.alloc(0) : bytes.subarray(end + 4);
}

export function headComplete(bytes: Buffer): boolean {
  return bytes.includes("\r\n\r\n");
}

/** Websocket opcode of a close frame (FIN set): 0x88. */
export const WS_CLOSE_FRAME = 0x88;
