/**
 * What a cluster store (Redis or PostgreSQL) offers the limits so that they hold across every node
 * and worker: atomic operations, each one round trip. Implementations: redis-limits.ts and
 * postgres-limits.ts. Every method may reject while the store is away; callers fall back to local
 * limits then (see shared-token-bucket.ts and src/realtime/connection-limit.ts).
 */

/** One live connection of a user, named cluster-wide by its Socket.IO socket id. */
export interface ConnectionEntry {
  userId: string;
  connectionId: string;
  /**
   * When the connection was accepted (ms since the epoch, the accepting node's clock). "Oldest" is
   * by this time, not by when the store heard of it: a store that hears of connections out of order
   * still converges on dropping the truly oldest.
   */
  connectedAt: number;
}

export interface ConnectionStore {
  /**
   * Records a new connection of `userId` and, in the same atomic step, removes that user's oldest
   * connections beyond `max` (connections whose lease lapsed, their node dead, are dropped first
   * and never counted). Returns the ids removed: they must be disconnected wherever they are.
   */
  open(entry: ConnectionEntry, max: number, leaseMs: number): Promise<string[]>;
  /** Forgets a connection that ended. */
  close(entry: Omit<ConnectionEntry, "connectedAt">): Promise<void>;
  /** Extends the leases of this node's live connections (a node that dies stops doing this). */
  refresh(entries: Omit<ConnectionEntry, "connectedAt">[], leaseMs: number): Promise<void>;
}

export interface RateStore {
  /**
   * Takes up to `count` whole tokens from the bucket `key` (capacity `burst`, refilled at
   * `ratePerSecond`) in one atomic step; returns how many it took (0 when empty).
   */
  take(key: string, ratePerSecond: number, burst: number, count: number): Promise<number>;
}

export interface SharedLimitStores {
  connections: ConnectionStore;
  rate: RateStore;
  /** False while the store is known to be unreachable: callers fall back at once, without waiting. */
  available(): boolean;
  /** Longest wait for one limit check before it is decided locally (CLUSTER_LIMITS_TIMEOUT_MS). */
  deadlineMs?: number;
}
