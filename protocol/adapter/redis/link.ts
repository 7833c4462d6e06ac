/**
 * The node's connection to Redis: one client that publishes and runs commands, one that is put in
 * subscriber mode, shared by every namespace (as the official adapter shares its pub/sub pair).
 *
 * Client: node-redis (`redis`), the field's standard. Bun's built-in `RedisClient` delivers pub/sub
 * messages as strings only (no buffer mode, no pattern subscriptions), which corrupts the msgpack
 * broadcasts of the official adapter; node-redis hands out Buffers, reconnects with a pluggable
 * backoff, and re-subscribes every channel and pattern by itself after a reconnect.
 *
 * Faults never reach the caller as rejections: Redis unreachable at start or lost mid-run puts the
 * link in `degraded`, publishes fail fast (no unbounded offline queue) and are counted as not
 * forwarded, and the link returns to `connected` when both clients are back.
 */
import { EventEmitter } from "node:events";
import { createClient, RESP_TYPES } from "redis";
import { createLogger } from "../../logger.ts";
import { asBuffer } from "../bytes.ts";
import { newRecoveryCounters, type RecoveryCounters } from "../cluster/recovery.ts";

const log = createLogger("adapter:redis");

export type LinkState = "connecting" | "connected" | "degraded" | "closed";

/** A listener for one channel or pattern: the raw bytes and the channel they came on. */
export type RawListener = (message: Buffer, channel: string) => void;

export interface RedisLinkOptions {
  /** `redis://[[user][:password]@]host[:port][/db]`. */
  url: string;
  /** First reconnect delay in ms; doubles per attempt. Default 100. */
  reconnectMinDelayMs?: number;
  /** Longest reconnect delay in ms. Default 5000. */
  reconnectMaxDelayMs?: number;
  /** How long one connection attempt may take, in ms. Default 2000. */
  connectTimeoutMs?: number;
}

/** Counters exposed on /metrics. */
export interface LinkCounters {
  /** Messages published to Redis. */
  published: number;
  /** Messages that could not be published (Redis down or failing): lost for the other nodes. */
  publishFailed: number;
  /** Messages received from Redis. */
  received: number;
  /** Received messages that were malformed or foreign and were ignored. */
  malformed: number;
  /** Times a client reconnected after losing Redis. */
  reconnects: number;
  /** Cluster requests whose deadline passed before every node answered. */
  requestTimeouts: number;
}

const DEFAULTS = { reconnectMinDelayMs: 100, reconnectMaxDelayMs: 5000, connectTimeoutMs: 2000 } as const;

type Client = ReturnType<typeof createClient>;

export class RedisLink extends EventEmitter {
  readonly counters: LinkCounters = {
    published: 0,
    publishFailed: 0,
    received: 0,
    malformed: 0,
    reconnects: 0,
    requestTimeouts: 0,
  };
  /** Connection-state recovery across nodes: sessions recovered, and refusals by reason. */
  readonly recoveryCounters: RecoveryCounters = newRecoveryCounters();
  private readonly pub: Client;
  private readonly sub: Client;
  private stateValue: LinkState = "connecting";
  private readonly ready = new Set<Client>();

  constructor(readonly options: RedisLinkOptions) {
    super();
    const min = options.reconnectMinDelayMs ?? DEFAULTS.reconnectMinDelayMs;
    const max = options.reconnectMaxDelayMs ?? DEFAULTS.reconnectMaxDelayMs;
    // Exponential backoff with jitter so that a cluster does not reconnect in lock-step.
    const reconnectStrategy = (retries: number) =>
      Math.min(max, min * 2 ** Math.min(retries, 16)) * (0.75 + Math.random() * 0.5);
    const socket = {
      reconnectStrategy,
      connectTimeout: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    };
    // Publishes must fail fast while Redis is away, never pile up in memory.
    this.pub = createClient({ url: options.url, socket, disableOfflineQueue: true });
    // Subscriptions made while Redis is away are queued and replayed; node-redis restores them on reconnect.
    this.sub = createClient({ url: options.url, socket });
    this.watch(this.pub, "publisher");
    this.watch(this.sub, "subscriber");
  }

  get state(): LinkState {
    return this.stateValue;
  }

  /** Starts connecting; resolves at once. Failure is a state (`degraded`), not an error. */
  start(): void {
    for (const client of [this.pub, this.sub]) {
      client.connect().catch((err: unknown) => log.error("redis connect gave up", { err }));
    }
    // If the first attempt has not succeeded quickly, say so loudly: the node serves local clients only.
    setTimeout(() => {
      if (this.stateValue === "connecting") this.setState("degraded");
    }, this.options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs).unref();
  }

  /** Publishes; never rejects. Returns false (and counts it) when Redis did not take the message. */
  async publish(channel: string, payload: string | Uint8Array): Promise<boolean> {
    try {
      await this.pub.publish(channel, typeof payload === "string" ? payload : asBuffer(payload));
      this.counters.published++;
      return true;
    } catch (err) {
      this.counters.publishFailed++;
      log.debug("publish failed", { channel, err });
      return false;
    }
  }

  /** Runs a Lua script; bulk replies come back as Buffers. Rejects while Redis is away. */
  evalScript(script: string, keys: string[], args: (string | Buffer)[]): Promise<unknown> {
    return this.pub
      .withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
      .eval(script, { keys, arguments: args }) as Promise<unknown>;
  }

  /** Number of subscribers of a channel across the Redis server; null when Redis cannot say. */
  async numsub(channel: string): Promise<number | null> {
    try {
      const reply = (await this.pub.sendCommand(["PUBSUB", "NUMSUB", channel])) as unknown[];
      return Number(reply[1] ?? 0);
    } catch {
      return null;
    }
  }

  subscribe(channels: string[], listener: RawListener): void {
    void this.subscribeAndWait(channels, listener);
  }

  /**
   * Subscribes and resolves once Redis confirmed it, so a caller can wait until cluster traffic for
   * the channel reaches this node. Never rejects; while Redis is away it resolves at once (the
   * subscription is replayed on reconnect).
   */
  async subscribeAndWait(channels: string[], listener: RawListener): Promise<void> {
    if (channels.length === 0) return;
    const done = this.sub
      .subscribe(channels, this.counting(listener), true)
      .catch((err: unknown) => log.warn("subscribe failed", { channels, err }));
    if (this.stateValue === "connected") await done;
  }

  unsubscribe(channels: string[]): void {
    if (channels.length === 0) return;
    this.sub
      .unsubscribe(channels)
      .catch((err: unknown) => log.debug("unsubscribe failed", { channels, err }));
  }

  /** Resolves once Redis confirmed it (at once while Redis is away); never rejects. */
  async pSubscribe(pattern: string, listener: RawListener): Promise<void> {
    const done = this.sub
      .pSubscribe(pattern, this.counting(listener), true)
      .catch((err: unknown) => log.warn("psubscribe failed", { pattern, err }));
    if (this.stateValue === "connected") await done;
  }

  pUnsubscribe(pattern: string): void {
    this.sub
      .pUnsubscribe(pattern)
      .catch((err: unknown) => log.debug("punsubscribe failed", { pattern, err }));
  }

  /** A command client for keys (node registry); commands reject while Redis is away. */
  get commands(): Client {
    return this.pub;
  }

  async close(): Promise<void> {
    this.setState("closed");
    // A client still trying to connect has nothing to flush, and its close() would wait for Redis.
    await Promise.allSettled(
      [this.pub, this.sub].map((c) => (c.isOpen && this.ready.has(c) ? c.close() : Promise.resolve())),
    );
    for (const c of [this.pub, this.sub]) if (c.isOpen) c.destroy();
  }

  private counting(listener: RawListener) {
    return (message: Buffer, channel: Buffer | string) => {
      this.counters.received++;
      try {
        listener(message, channel.toString());
      } catch (err) {
        // A message that decodes but cannot be delivered (a foreign packet shape, say) must not
        // reach node-redis' parser as an exception: count it with the malformed ones.
        this.counters.malformed++;
        log.warn("a message from Redis could not be handled", { channel: channel.toString(), err });
      }
    };
  }

  private watch(client: Client, role: string): void {
    let lastError = "";
    client.on("error", (err: Error) => {
      // node-redis emits one error per failed attempt; log each distinct cause once per outage.
      if (err.message !== lastError) log.warn("redis error", { role, error: err.message });
      lastError = err.message;
    });
    client.on("ready", () => {
      if (lastError) this.counters.reconnects++;
      lastError = "";
      this.ready.add(client);
      if (this.ready.size === 2) this.setState("connected");
    });
    client.on("end", () => this.ready.delete(client));
    client.on("reconnecting", () => {
      this.ready.delete(client);
      if (this.stateValue !== "closed") this.setState("degraded");
    });
  }

  private setState(next: LinkState): void {
    if (this.stateValue === next || this.stateValue === "closed") return;
    const previous = this.stateValue;
    this.stateValue = next;
    if (next === "degraded") {
      log.error(
        "Redis unreachable: serving local clients only, cross-node delivery is off until it returns",
        { url: redact(this.options.url) },
      );
    } else if (next === "connected") {
      log.info(previous === "connecting" ? "connected to Redis" : "Redis is back: cluster delivery resumed", {
        url: redact(this.options.url),
      });
    }
    this.emit("state", next, previous);
  }
}

/** The URL without its password, for logs. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<invalid url>";
  }
}
