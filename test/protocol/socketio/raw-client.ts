/**
 * A bare Engine.IO websocket client for byte-level Socket.IO tests: it sends and reads Engine.IO
 * message frames ("4" + Socket.IO packet) as they are, with bounded waits.
 */
import { WAIT_MS, withTimeout } from "./support.ts";

export type Frame = string | Uint8Array;

export class RawClient {
  private readonly frames: Frame[] = [];
  private waiter: (() => void) | undefined;
  closed = false;
  readonly closedPromise: Promise<void>;
  /** The Engine.IO open packet's payload. */
  open: { sid: string } | undefined;

  private constructor(private readonly ws: WebSocket) {
    ws.binaryType = "arraybuffer";
    this.closedPromise = new Promise((resolve) => {
      ws.addEventListener("close", () => {
        this.closed = true;
        this.waiter?.();
        resolve();
      });
    });
    ws.addEventListener("message", (event) => {
      const data = event.data as string | ArrayBuffer;
      this.frames.push(typeof data === "string" ? data : new Uint8Array(data));
      this.waiter?.();
    });
  }

  static async connect(port: number): Promise<RawClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
    const client = new RawClient(ws);
    const open = await client.frame();
    if (typeof open !== "string" || !open.startsWith("0"))
      throw new Error(`expected an open packet, got ${String(open)}`);
    client.open = JSON.parse(open.slice(1));
    return client;
  }

  /**
   * A websocket to `url` (for example an upgrade probe with a `sid`) that expects no open packet:
   * resolves once it is open, rejects when the server refuses it. Frames go out as given
   * (`sendFrame`).
   */
  static async attach(url: string): Promise<RawClient> {
    const ws = new WebSocket(url);
    const client = new RawClient(ws);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        ws.addEventListener("open", () => resolve(), { once: true });
        ws.addEventListener("error", () => reject(new Error("websocket refused")), { once: true });
      }),
      "the websocket to open",
    );
    return client;
  }

  /** Send one Engine.IO frame as it is ("2probe", "5", "42[...]"). */
  sendFrame(frame: string | Uint8Array): void {
    this.ws.send(frame);
  }

  /** The next frame the server sent, skipping pings (answered) so heartbeats never interfere. */
  async frame(ms = WAIT_MS): Promise<Frame> {
    return withTimeout(
      (async () => {
        for (;;) {
          const frame = this.frames.shift();
          if (frame === "2") {
            this.ws.send("3");
            continue;
          }
          if (frame !== undefined) return frame;
          if (this.closed) throw new Error("connection closed");
          await new Promise<void>((resolve) => {
            this.waiter = resolve;
          });
          this.waiter = undefined;
        }
      })(),
      "a frame",
      ms,
    );
  }

  /** The next Socket.IO packet (the Engine.IO message frame without its "4"). */
  async packet(ms = WAIT_MS): Promise<Frame> {
    const frame = await this.frame(ms);
    if (typeof frame !== "string") return frame;
    if (!frame.startsWith("4")) throw new Error(`expected a message frame, got ${frame}`);
    return frame.slice(1);
  }

  /** Send one Socket.IO packet (text) or one binary attachment. */
  send(packet: string | Uint8Array): void {
    this.ws.send(typeof packet === "string" ? `4${packet}` : packet);
  }

  /** Resolves when the server closed the connection, within the bound. */
  waitClosed(ms = WAIT_MS): Promise<void> {
    return withTimeout(this.closedPromise, "the connection to close", ms);
  }

  close(): void {
    if (!this.closed) this.ws.close();
  }
}
