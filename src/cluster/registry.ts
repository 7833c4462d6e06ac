/**
 * Where each node can be reached for forwarded requests. A node announces its internal address in
 * the cluster store (Redis or PostgreSQL, see registry-stores.ts) with a TTL and refreshes it (a
 * heartbeat): a node that dies vanishes within the TTL. Static peers (`CLUSTER_PEERS`) work
 * without a store.
 *
 * Lookups are cached: an address never changes for the life of a node id, so the cache is only
 * dropped when a forward to that address fails.
 */
import { createLogger } from "../../protocol/logger.ts";

const log = createLogger("cluster");

/** Where announcements are kept. Every method may reject while the store is away. */
export interface RegistryStore {
  /** Writes (or refreshes) a node's address, valid for `ttlMs`. */
  announce(nodeId: string, address: string, ttlMs: number): Promise<void>;
  /** The address of a node whose announcement has not expired, or null. */
  lookup(nodeId: string): Promise<string | null>;
  withdraw(nodeId: string): Promise<void>;
}

export interface NodeRegistryOptions {
  nodeId: string;
  /** This node's internal base URL (`http://host:port`), announced to the others. */
  address: string;
  /** Lifetime of an announcement in ms; refreshed every third of it. Default 15000. */
  ttlMs?: number;
  /** Addresses known without Redis: node id → base URL. */
  staticPeers?: ReadonlyMap<string, string>;
}

export const REGISTRY_DEFAULTS = { ttlMs: 15_000 } as const;

export class NodeRegistry {
  private readonly cache = new Map<string, string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly ttlMs: number;

  constructor(
    private readonly store: RegistryStore | null,
    private readonly options: NodeRegistryOptions,
  ) {
    this.ttlMs = options.ttlMs ?? REGISTRY_DEFAULTS.ttlMs;
  }

  /** Starts the heartbeat. Failures (store away) are retried on the next beat, never thrown. */
  start(): void {
    if (!this.store || this.timer) return;
    void this.beat();
    this.timer = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.ttlMs / 3)));
    this.timer.unref?.();
  }

  /**
   * Writes the announcement now (also called when the store comes back, not to wait for the next
   * beat). Resolves true once written, false when the store refused; never rejects.
   */
  beat(): Promise<boolean> {
    if (!this.store) return Promise.resolve(false);
    return this.store.announce(this.options.nodeId, this.options.address, this.ttlMs).then(
      () => true,
      (err: unknown) => {
        log.debug("node heartbeat not written", { err });
        return false;
      },
    );
  }

  /** Stops the heartbeat and withdraws the announcement, so no one forwards here any more. */
  async stop(): Promise<void> {
    const wasRunning = this.timer !== undefined;
    clearInterval(this.timer);
    this.timer = undefined;
    if (wasRunning) await this.store?.withdraw(this.options.nodeId).catch(() => {});
  }

  /** Base URL of a node, or null when no one knows it (dead, or never existed). */
  async lookup(nodeId: string): Promise<string | null> {
    const known = this.options.staticPeers?.get(nodeId) ?? this.cache.get(nodeId);
    if (known) return known;
    if (!this.store) return null;
    try {
      const address = await this.store.lookup(nodeId);
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
}
