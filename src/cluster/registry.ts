/**
 * Where each node can be reached for forwarded requests. A node announces its internal address in
 * Redis under `<prefix>:node:<nodeId>` with a TTL and refreshes it (a heartbeat): a node that dies
 * vanishes within the TTL. Static peers (`CLUSTER_PEERS`) work without Redis.
 *
 * Lookups are cached: an address never changes for the life of a node id, so the cache is only
 * dropped when a forward to that address fails.
 */
import { createLogger } from "../../protocol/logger.ts";

const log = createLogger("cluster");

/** The Redis commands the registry needs (node-redis' client satisfies it). */
export interface RegistryStore {
  set(key: string, value: string, options: { PX: number }): Promise<unknown>;
  get(key: string): Promise<string | null>;
  del(key: string): Promise<unknown>;
}

export interface NodeRegistryOptions {
  nodeId: string;
  /** This node's internal base URL (`http://host:port`), announced to the others. */
  address: string;
  /** Key prefix. Default "switchboard". */
  prefix?: string;
  /** Lifetime of an announcement in ms; refreshed every third of it. Default 15000. */
  ttlMs?: number;
  /** Addresses known without Redis: node id → base URL. */
  staticPeers?: ReadonlyMap<string, string>;
}

export const REGISTRY_DEFAULTS = { prefix: "switchboard", ttlMs: 15_000 } as const;

export class NodeRegistry {
  private readonly cache = new Map<string, string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly prefix: string;
  private readonly ttlMs: number;

  constructor(
    private readonly store: RegistryStore | null,
    private readonly options: NodeRegistryOptions,
  ) {
    this.prefix = options.prefix ?? REGISTRY_DEFAULTS.prefix;
    this.ttlMs = options.ttlMs ?? REGISTRY_DEFAULTS.ttlMs;
  }

  /** Starts the heartbeat. Failures (Redis away) are retried on the next beat, never thrown. */
  start(): void {
    if (!this.store || this.timer) return;
    this.beat();
    this.timer = setInterval(() => this.beat(), Math.max(100, Math.floor(this.ttlMs / 3)));
    this.timer.unref?.();
  }

  /** Writes the announcement now (also called when Redis comes back, not to wait for the next beat). */
  beat(): void {
    this.store
      ?.set(this.keyOf(this.options.nodeId), this.options.address, { PX: this.ttlMs })
      .catch((err: unknown) => log.debug("node heartbeat not written", { err }));
  }

  /** Stops the heartbeat and withdraws the announcement, so no one forwards here any more. */
  async stop(): Promise<void> {
    const wasRunning = this.timer !== undefined;
    clearInterval(this.timer);
    this.timer = undefined;
    if (wasRunning) await this.store?.del(this.keyOf(this.options.nodeId)).catch(() => {});
  }

  /** Base URL of a node, or null when no one knows it (dead, or never existed). */
  async lookup(nodeId: string): Promise<string | null> {
    const known = this.options.staticPeers?.get(nodeId) ?? this.cache.get(nodeId);
    if (known) return known;
    if (!this.store) return null;
    try {
      const address = await this.store.get(this.keyOf(nodeId));
      if (address) this.cache.set(nodeId, address);
      return address;
    } catch (err) {
      log.debug("node lookup failed", { nodeId, err });
      return null;
    }
  }

  /** Forget a cached address (the node did not answer). */
  forget(nodeId: string): void {
    this.cache.delete(nodeId);
  }

  private keyOf(nodeId: string): string {
    return `${this.prefix}:node:${nodeId}`;
  }
}
