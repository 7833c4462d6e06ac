/**
 * A websocket-only Socket.IO client over raw TCP (Bun.connect): HTTP upgrade to
 * `/socket.io/?EIO=4&transport=websocket` (no polling first, as socket.io-client does with
 * `transports: ["websocket"]`), RFC 6455 frames parsed from the TCP chunks (see frames.ts for why
 * not Bun's WebSocket), pings answered, raw EVENT packets handed to the scenario. Sends made in the
 * same tick are written together, one syscall per connection per tick.
 */
import type { Socket } from "bun";
import { CH_0, CH_2, CH_3, CH_4, EIO_PING, EIO_PONG, encodeConnect } from "../wire.ts";
import { AckTable } from "./acks.ts";
import {
  ClientError,
  type ClientOptions,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_PATH,
  type LoadClient,
} from "./client.ts";
import { encodeFrame, FrameParser, Opcode } from "./frames.ts";

type State = "idle" | "upgrading" | "opening" | "connected" | "closed";

const HEADER_END = "\r\n\r\n";
const CLOSE_NORMAL = Buffer.from([0x03, 0xe8]);

export class WsClient implements LoadClient {
  readonly transport = "websocket" as const;
  handshakeMs = 0;
  onEvent: ((raw: string) => void) | null = null;
  onClose: ((reason: string) => void) | null = null;
  onEventBytes: ((buf: Buffer, start: number, end: number) => void) | null = null;

  private state: State = "idle";
  private socket: Socket<undefined> | null = null;
  private readonly acks = new AckTable();
  private readonly mask = crypto.getRandomValues(new Uint8Array(4));
  private readonly parser: FrameParser;
  private header = "";
  /** Frames waiting for the end of the tick (corking) or for the socket to drain. */
  private outbox: Buffer[] = [];
  private flushScheduled = false;
  private backlog: Buffer | null = null;
  private settle: { resolve: () => void; reject: (e: Error) => void } | null = null;

  constructor(private readonly options: ClientOptions) {
    this.parser = new FrameParser({
      text: (buf, start, end) => {
        // EVENT packets skip the string decode when the scenario reads bytes.
        if (this.onEventBytes && buf[start] === CH_4 && buf[start + 1] === CH_2)
          this.onEventBytes(buf, start, end);
        else this.onText(buf.toString("utf8", start, end));
      },
      control: (opcode, payload) => this.onControl(opcode, payload),
    });
  }

  get connected(): boolean {
    return this.state === "connected";
  }

  connect(): Promise<void> {
    const { baseUrl, path = DEFAULT_PATH, connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS } = this.options;
    const url = new URL(baseUrl);
    const started = performance.now();
    this.state = "upgrading";
    const done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    const timer = setTimeout(() => this.fail(ClientError.ConnectTimeout), connectTimeoutMs);
    const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
    const request =
      `GET ${path}?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    Bun.connect({
      hostname: url.hostname,
      port: Number(url.port),
      socket: {
        open: (socket) => {
          this.socket = socket;
          // Small frames must leave at once: Nagle + delayed ACK would add up to 40 ms per round trip.
          socket.setNoDelay(true);
          socket.write(request);
        },
        data: (_socket, chunk) => this.onData(chunk),
        drain: () => this.onDrain(),
        close: () => this.onSocketClose("transport close"),
        error: (_socket, err) => this.onSocketClose(`transport error: ${err.message}`),
        connectError: (_socket, err) => this.fail(`${ClientError.ConnectRefused}: ${err.message}`),
      },
    }).catch((err: Error) => this.fail(`${ClientError.ConnectRefused}: ${err.message}`));
    return done.then(
      () => {
        clearTimeout(timer);
        this.handshakeMs = performance.now() - started;
      },
      (err: Error) => {
        clearTimeout(timer);
        throw err;
      },
    );
  }

  private onData(chunk: Buffer): void {
    if (this.state === "upgrading") {
      // Upgrade responses are small ASCII; latin1 keeps byte offsets equal to string offsets.
      this.header += chunk.toString("latin1");
      const end = this.header.indexOf(HEADER_END);
      if (end < 0) return;
      if (!this.header.startsWith("HTTP/1.1 101")) {
        this.fail(`${ClientError.ConnectRefused}: ${this.header.split("\r\n")[0]}`);
        return;
      }
      const rest = Buffer.from(this.header.slice(end + HEADER_END.length), "latin1");
      this.header = "";
      this.state = "opening";
      if (rest.length > 0) this.parser.push(rest);
      return;
    }
    try {
      this.parser.push(chunk);
    } catch (err) {
      this.onSocketClose(`protocol error: ${err instanceof Error ? err.message : String(err)}`);
      this.socket?.end();
    }
  }

  private onText(text: string): void {
    const c0 = text.charCodeAt(0);
    if (c0 === CH_4) {
      const c1 = text.charCodeAt(1);
      if (c1 === CH_2) this.onEvent?.(text);
      else if (c1 === CH_3) this.acks.settle(text);
      else if (c1 === CH_0 && this.state === "opening") {
        this.state = "connected";
        this.settle?.resolve();
      } else if (text.startsWith("44")) this.fail(`${ClientError.ConnectRefused}: ${text.slice(2)}`);
    } else if (text === EIO_PING) this.send(EIO_PONG);
    else if (c0 === CH_0 && this.state === "opening") this.send(encodeConnect(this.options.auth));
  }

  private onControl(opcode: number, payload: Uint8Array): void {
    if (opcode === Opcode.Ping) this.queue(encodeFrame(Opcode.Pong, Buffer.from(payload), this.mask));
    else if (opcode === Opcode.Close) this.onSocketClose("websocket closed by server");
  }

  private fail(reason: string): void {
    if (this.state !== "upgrading" && this.state !== "opening") return;
    this.state = "closed";
    this.socket?.end();
    this.settle?.reject(new Error(reason));
  }

  private onSocketClose(reason: string): void {
    if (this.state === "upgrading" || this.state === "opening") {
      this.fail(`${ClientError.ClosedBeforeConnect}: ${reason}`);
      return;
    }
    if (this.state !== "connected") return;
    this.state = "closed";
    this.socket?.end();
    this.onClose?.(reason);
  }

  send(packet: string): void {
    this.queue(encodeFrame(Opcode.Text, Buffer.from(packet), this.mask));
  }

  private queue(frame: Buffer): void {
    if (this.state === "closed" || !this.socket) return;
    this.outbox.push(frame);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outbox.length === 0 || !this.socket) return;
    const data = this.outbox.length === 1 ? this.outbox[0]! : Buffer.concat(this.outbox);
    this.outbox = [];
    if (this.backlog) {
      this.backlog = Buffer.concat([this.backlog, data]);
      return;
    }
    this.write(data);
  }

  private write(data: Buffer): void {
    const written = this.socket!.write(data);
    if (written < data.length) this.backlog = data.subarray(Math.max(0, written));
  }

  private onDrain(): void {
    const pending = this.backlog;
    if (!pending) return;
    this.backlog = null;
    this.write(pending);
  }

  /** Bytes the kernel did not take yet: the generator's own backlog when publishing fast. */
  get bufferedAmount(): number {
    return this.backlog?.length ?? 0;
  }

  sendWithAck(event: string, args: readonly unknown[], onAck: (raw: string) => void): void {
    this.send(this.acks.encode(event, args, onAck));
  }

  sendEncodedWithAck(body: string, onAck: (raw: string) => void): void {
    this.send(this.acks.encodeRaw(body, onAck));
  }

  emitWithAck(event: string, args: readonly unknown[], timeoutMs = 5_000): Promise<unknown[]> {
    return this.acks.wait((p) => this.send(p), event, args, timeoutMs);
  }

  close(): void {
    if (this.state === "closed") return;
    const socket = this.socket;
    this.state = "closed";
    if (!socket) return;
    this.flush();
    socket.write(encodeFrame(Opcode.Close, CLOSE_NORMAL, this.mask));
    socket.end();
  }
}
