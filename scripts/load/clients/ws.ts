/**
 * A websocket-only Socket.IO client on Bun's native WebSocket: opens
 * `/socket.io/?EIO=4&transport=websocket` directly (no polling first, as socket.io-client does with
 * `transports: ["websocket"]`), answers pings, and hands raw EVENT packets to the scenario.
 */
import { CH_0, CH_2, CH_3, CH_4, EIO_PING, EIO_PONG, encodeConnect } from "../wire.ts";
import { AckTable } from "./acks.ts";
import {
  type ClientOptions,
  ClientError,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_PATH,
  type LoadClient,
} from "./client.ts";

type State = "idle" | "opening" | "connected" | "closed";

export class WsClient implements LoadClient {
  readonly transport = "websocket" as const;
  handshakeMs = 0;
  onEvent: ((raw: string) => void) | null = null;
  onClose: ((reason: string) => void) | null = null;

  private state: State = "idle";
  private ws: WebSocket | null = null;
  private readonly acks = new AckTable();

  constructor(private readonly options: ClientOptions) {}

  get connected(): boolean {
    return this.state === "connected";
  }

  connect(): Promise<void> {
    const { baseUrl, path = DEFAULT_PATH, auth, connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS } = this.options;
    const url = `${baseUrl.replace(/^http/, "ws")}${path}?EIO=4&transport=websocket`;
    this.state = "opening";
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const fail = (reason: string) => {
        clearTimeout(timer);
        if (this.state === "opening") {
          this.state = "closed";
          this.ws?.close();
          reject(new Error(reason));
        }
      };
      const timer = setTimeout(() => fail(ClientError.ConnectTimeout), connectTimeoutMs);
      const ws = new WebSocket(url);
      this.ws = ws;
      ws.onmessage = (ev: MessageEvent) => {
        const text = ev.data as string;
        const c0 = text.charCodeAt(0);
        if (c0 === CH_4) {
          const c1 = text.charCodeAt(1);
          if (c1 === CH_2) this.onEvent?.(text);
          else if (c1 === CH_3) this.acks.settle(text);
          else if (c1 === CH_0 && this.state === "opening") {
            clearTimeout(timer);
            this.handshakeMs = performance.now() - started;
            this.state = "connected";
            resolve();
          } else if (text.startsWith("44")) fail(`${ClientError.ConnectRefused}: ${text.slice(2)}`);
        } else if (text === EIO_PING) ws.send(EIO_PONG);
        else if (c0 === CH_0) ws.send(encodeConnect(auth));
      };
      ws.onclose = (ev: CloseEvent) => {
        if (this.state === "opening") return fail(`${ClientError.ClosedBeforeConnect} (${ev.code})`);
        if (this.state === "connected") {
          this.state = "closed";
          this.onClose?.(`websocket closed (${ev.code})`);
        }
      };
    });
  }

  send(packet: string): void {
    this.ws?.send(packet);
  }

  sendWithAck(event: string, args: readonly unknown[], onAck: (raw: string) => void): void {
    this.ws?.send(this.acks.encode(event, args, onAck));
  }

  sendEncodedWithAck(body: string, onAck: (raw: string) => void): void {
    this.ws?.send(this.acks.encodeRaw(body, onAck));
  }

  emitWithAck(event: string, args: readonly unknown[], timeoutMs = 5_000): Promise<unknown[]> {
    return this.acks.wait((p) => this.send(p), event, args, timeoutMs);
  }

  /** Bytes queued in the client socket: the generator's own backlog when publishing fast. */
  get bufferedAmount(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  close(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.ws?.close();
  }
}
