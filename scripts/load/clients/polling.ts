/**
 * A polling-only Socket.IO client over fetch: handshake GET, then one long-poll GET at a time and
 * at most one POST in flight (packets queued meanwhile go out together, joined by the record
 * separator), as engine.io-client does when the upgrade is disabled.
 */
import {
  CH_0,
  CH_2,
  CH_3,
  CH_4,
  EIO_CLOSE,
  EIO_PING,
  EIO_PONG,
  encodeConnect,
  RECORD_SEPARATOR,
} from "../wire.ts";
import { AckTable } from "./acks.ts";
import {
  ClientError,
  type ClientOptions,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_PATH,
  type LoadClient,
} from "./client.ts";

type State = "idle" | "opening" | "connected" | "closed";

export class PollingClient implements LoadClient {
  readonly transport = "polling" as const;
  handshakeMs = 0;
  onEvent: ((raw: string) => void) | null = null;
  onClose: ((reason: string) => void) | null = null;

  private state: State = "idle";
  private sessionUrl = "";
  private outbox: string[] = [];
  private posting = false;
  private readonly acks = new AckTable();
  private readonly abort = new AbortController();
  private connected$: { resolve: () => void; reject: (e: Error) => void } | null = null;

  constructor(private readonly options: ClientOptions) {}

  get connected(): boolean {
    return this.state === "connected";
  }

  async connect(): Promise<void> {
    const {
      baseUrl,
      path = DEFAULT_PATH,
      auth,
      connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS,
    } = this.options;
    this.state = "opening";
    const started = performance.now();
    const timer = setTimeout(() => this.fail(ClientError.ConnectTimeout), connectTimeoutMs);
    const connected = new Promise<void>((resolve, reject) => {
      this.connected$ = { resolve, reject };
    });
    try {
      const res = await fetch(`${baseUrl}${path}?EIO=4&transport=polling`, { signal: this.abort.signal });
      const body = await res.text();
      if (res.status !== 200 || body.charCodeAt(0) !== CH_0) {
        throw new Error(`${ClientError.ConnectRefused}: HTTP ${res.status} ${body.slice(0, 100)}`);
      }
      const { sid } = JSON.parse(body.slice(1)) as { sid: string };
      this.sessionUrl = `${baseUrl}${path}?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
      this.send(encodeConnect(auth));
      void this.pollLoop();
      await connected;
      this.handshakeMs = performance.now() - started;
    } catch (err) {
      this.fail(String(err instanceof Error ? err.message : err));
      throw err instanceof Error ? err : new Error(String(err));
    } finally {
      clearTimeout(timer);
    }
  }

  private fail(reason: string): void {
    if (this.state !== "opening") return;
    this.state = "closed";
    this.abort.abort();
    this.connected$?.reject(new Error(reason));
  }

  private async pollLoop(): Promise<void> {
    while (this.state === "opening" || this.state === "connected") {
      let body: string;
      try {
        const res = await fetch(this.sessionUrl, { signal: this.abort.signal });
        body = await res.text();
        if (res.status !== 200) return this.end(`poll HTTP ${res.status}: ${body.slice(0, 100)}`);
      } catch (err) {
        return this.end(`poll failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      for (const packet of body.split(RECORD_SEPARATOR)) this.handle(packet);
    }
  }

  private handle(text: string): void {
    const c0 = text.charCodeAt(0);
    if (c0 === CH_4) {
      const c1 = text.charCodeAt(1);
      if (c1 === CH_2) this.onEvent?.(text);
      else if (c1 === CH_3) this.acks.settle(text);
      else if (c1 === CH_0 && this.state === "opening") {
        this.state = "connected";
        this.connected$?.resolve();
      } else if (text.startsWith("44")) this.fail(`${ClientError.ConnectRefused}: ${text.slice(2)}`);
    } else if (text === EIO_PING) this.send(EIO_PONG);
    else if (text === EIO_CLOSE) this.end("server closed the session");
  }

  private end(reason: string): void {
    if (this.state === "opening") {
      this.fail(reason);
      return;
    }
    if (this.state !== "connected") return;
    this.state = "closed";
    this.abort.abort();
    this.onClose?.(reason);
  }

  send(packet: string): void {
    if (this.state === "closed") return;
    this.outbox.push(packet);
    if (!this.posting) void this.flush();
  }

  private async flush(): Promise<void> {
    this.posting = true;
    while (this.outbox.length > 0 && this.state !== "closed") {
      const body = this.outbox.join(RECORD_SEPARATOR);
      this.outbox = [];
      try {
        const res = await fetch(this.sessionUrl, { method: "POST", body, signal: this.abort.signal });
        await res.text();
        if (res.status !== 200) this.end(`post HTTP ${res.status}`);
      } catch (err) {
        this.end(`post failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.posting = false;
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
    const wasConnected = this.state === "connected";
    this.state = "closed";
    // Tell the server (Engine.IO close) so it frees the session now rather than at ping timeout.
    if (wasConnected) void fetch(this.sessionUrl, { method: "POST", body: EIO_CLOSE }).catch(() => {});
    this.abort.abort();
  }
}
