/**
 * The soak's client population, built on scripts/load's raw-protocol clients: a steady number of
 * connections (websocket and polling), a share of them watching the conversation, everyone pinging
 * at a steady rate, and churn (the oldest connections closed and replaced every second).
 */
import type { LoadClient } from "../load/clients/client.ts";
import { PollingClient } from "../load/clients/polling.ts";
import { WsClient } from "../load/clients/ws.ts";

export interface PopulationOptions {
  /** Server origin. */
  url: string;
  token: string;
  conversationId: string;
  /** Connections kept open. */
  connections: number;
  /** Share of connections on HTTP long-polling (the rest websocket). */
  pollingShare: number;
  /** Share of connections that join the conversation (and so receive every message:new). */
  watchShare: number;
  /** Connections closed and replaced per second. */
  churnPerSecond: number;
  /** Seconds between two `ping` events of one connection. */
  pingEverySeconds: number;
}

export interface PopulationStats {
  opened: number;
  closedByUs: number;
  /** Closed by the server or the network (not by churn). */
  lostUnexpectedly: number;
  connectFailures: number;
  /** The first few connect failures, for the report. */
  failureSamples: string[];
  eventsReceived: number;
  pingsSent: number;
}

export class Population {
  readonly stats: PopulationStats = {
    opened: 0,
    closedByUs: 0,
    lostUnexpectedly: 0,
    connectFailures: 0,
    failureSamples: [],
    eventsReceived: 0,
    pingsSent: 0,
  };
  private readonly live: LoadClient[] = [];
  private readonly closing = new WeakSet<LoadClient>();
  private timers: ReturnType<typeof setInterval>[] = [];
  private serial = 0;
  private stopped = false;
  /** Connects in progress (counted against the target so concurrent fills never overshoot). */
  private pending = 0;
  private filling: Promise<void> | null = null;

  constructor(private readonly options: PopulationOptions) {}

  get size(): number {
    return this.live.length;
  }

  /** Opens connections in batches until `connections` are up (one fill at a time). */
  fill(batch = 100): Promise<void> {
    this.filling ??= (async () => {
      try {
        for (;;) {
          const deficit = this.options.connections - this.live.length - this.pending;
          if (this.stopped || deficit <= 0) return;
          await Promise.all(Array.from({ length: Math.min(batch, deficit) }, () => this.openOne()));
        }
      } finally {
        this.filling = null;
      }
    })();
    return this.filling;
  }

  /** Starts the steady traffic and the churn. */
  start(): void {
    const { churnPerSecond, pingEverySeconds } = this.options;
    this.timers.push(
      setInterval(() => {
        for (let i = 0; i < churnPerSecond && this.live.length > 0; i++) this.closeOne(this.live[0]!);
        void this.fill(Math.max(churnPerSecond, 50));
      }, 1000),
    );
    // Pings spread evenly: every 100 ms a tenth of the per-second share.
    const perTick = Math.max(1, Math.round(this.options.connections / pingEverySeconds / 10));
    let cursor = 0;
    this.timers.push(
      setInterval(() => {
        for (let i = 0; i < perTick && this.live.length > 0; i++) {
          const client = this.live[cursor++ % this.live.length]!;
          if (!client.connected) continue;
          client.send('42["ping"]');
          this.stats.pingsSent++;
        }
      }, 100),
    );
  }

  /** Closes every connection. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const client of [...this.live]) this.closeOne(client);
  }

  private async openOne(): Promise<void> {
    const { url, token, conversationId, pollingShare, watchShare } = this.options;
    const n = this.serial++;
    const options = { baseUrl: url, auth: { token }, connectTimeoutMs: 20_000 };
    const polling = pollingShare > 0 && n % Math.round(1 / pollingShare) === 0;
    const client: LoadClient = polling ? new PollingClient(options) : new WsClient(options);
    client.onEvent = () => {
      this.stats.eventsReceived++;
    };
    client.onClose = () => {
      const i = this.live.indexOf(client);
      if (i >= 0) this.live.splice(i, 1);
      if (!this.closing.has(client)) this.stats.lostUnexpectedly++;
    };
    this.pending++;
    try {
      await client.connect();
    } catch (err) {
      this.stats.connectFailures++;
      if (this.stats.failureSamples.length < 5)
        this.stats.failureSamples.push(String((err as Error).message ?? err));
      client.close();
      return;
    } finally {
      this.pending--;
    }
    if (this.stopped) {
      client.close();
      return;
    }
    this.live.push(client);
    this.stats.opened++;
    if (watchShare > 0 && n % Math.round(1 / watchShare) === 0) {
      client.send(`42${JSON.stringify(["join_conversation", { conversation_id: conversationId }])}`);
    }
  }

  private closeOne(client: LoadClient): void {
    const i = this.live.indexOf(client);
    if (i >= 0) this.live.splice(i, 1);
    this.closing.add(client);
    this.stats.closedByUs++;
    client.close();
  }
}
