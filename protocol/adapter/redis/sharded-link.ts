/**
 * The node's connection to a Redis Cluster for the sharded adapter: one cluster client that
 * publishes (`SPUBLISH`) and counts subscribers (`PUBSUB SHARDNUMSUB` on every master), one duplicate in subscriber mode (`SSUBSCRIBE`, which node-redis routes to each
 * channel's shard and restores after a reconnect or a slot move). Faults are states and counters,
 * never rejections, as in link.ts.
 */
import { EventEmitter } from "node:events";
import { createCluster, RESP_TYPES } from "redis";
import { createLogger } from "../../logger.ts";
import { asBuffer } from "../bytes.ts";
import { newRecoveryCounters, type RecoveryCounters } from "../cluster/recovery.ts";
import type { LinkCounters, LinkState, RawListener } from "./link.ts";

const log = createLogger("adapter:redis-sharded");

export interface ShardedRedisLinkOptions {
  /** Any node(s) of the Redis Cluster: `redis://host:port`; the others are discovered. */
  rootUrls: string[];
}

type Cluster = ReturnType<typeof createCluster>;

export class ShardedRedisLink extends EventEmitter {
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
  private readonly pub: Cluster;
  private readonly sub: Cluster;
  private stateValue: LinkState = "connecting";

  constructor(options: ShardedRedisLinkOptions) {
    super();
    this.pub = createCluster({ rootNodes: options.rootUrls.map((url) => ({ url })) });
    this.sub = this.pub.duplicate();
    for (const [client, role] of [
      [this.pub, "publisher"],
      [this.sub, "subscriber"],
    ] as const)
      client.on("error", (err: Error) => log.warn("redis cluster error", { role, error: err.message }));
  }

  get state(): LinkState {
    return this.stateValue;
  }

  /** Connects both clients; resolves when they are ready, or with the link `degraded`. */
  async start(): Promise<void> {
    try {
      await Promise.all([this.pub.connect(), this.sub.connect()]);
      this.setState("connected");
    } catch (err) {
      log.error("Redis Cluster unreachable: serving local clients only", { err });
      this.setState("degraded");
    }
  }

  async publish(channel: string, payload: string | Uint8Array): Promise<boolean> {
    try {
      await this.pub.sPublish(channel, typeof payload === "string" ? payload : asBuffer(payload));
      this.counters.published++;
      return true;
    } catch (err) {
      this.counters.publishFailed++;
      log.debug("spublish failed", { channel, err });
      return false;
    }
  }

  /** Runs a Lua script on the shard of `keys[0]`; bulk replies come back as Buffers. */
  evalScript(script: string, keys: string[], args: (string | Buffer)[]): Promise<unknown> {
    return this.pub
      .withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
      .eval(script, { keys, arguments: args }) as Promise<unknown>;
  }

  /**
   * Subscribers of a shard channel, summed over the masters (only the shard owning the channel has
   * any), as the official adapter counts; null when Redis cannot say.
   */
  async shardNumsub(channel: string): Promise<number | null> {
    try {
      const counts = await Promise.all(
        this.pub.masters.map(async (master) => {
          const client = await this.pub.nodeClient(master);
          const reply = (await client.sendCommand(["PUBSUB", "SHARDNUMSUB", channel])) as unknown[];
          return Number(reply[1] ?? 0);
        }),
      );
      return counts.reduce((sum, n) => sum + n, 0);
    } catch {
      return null;
    }
  }

  /** Subscribes; resolves once the owning shard confirmed it (never rejects). */
  async subscribe(channel: string, listener: RawListener): Promise<void> {
    await this.sub
      .sSubscribe(
        channel,
        (message: Buffer, from: Buffer | string) => {
          this.counters.received++;
          try {
            listener(message, from.toString());
          } catch (err) {
            this.counters.malformed++;
            log.warn("a message from Redis could not be handled", { channel, err });
          }
        },
        true,
      )
      .catch((err: unknown) => log.warn("ssubscribe failed", { channel, err }));
  }

  unsubscribe(channel: string): void {
    this.sub.sUnsubscribe(channel).catch(() => {});
  }

  async close(): Promise<void> {
    this.setState("closed");
    await Promise.allSettled([this.pub.close(), this.sub.close()]);
  }

  private setState(next: LinkState): void {
    if (this.stateValue === next || this.stateValue === "closed") return;
    const previous = this.stateValue;
    this.stateValue = next;
    this.emit("state", next, previous);
  }
}
