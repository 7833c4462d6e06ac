/**
 * Per-key token buckets shared by every node of a cluster: the bucket lives in the cluster store
 * (redis-limits.ts / postgres-limits.ts), so a user's event rate holds across nodes and workers.
 * When the store cannot answer, the node's own TokenBuckets decide (see fallback.ts). Takes of one
 * key are answered in the order they were asked, so a user's events are never reordered by the
 * round trips.
 *
 * Leases: one store round trip takes up to `leaseSize` tokens at once; this node spends them
 * locally for at most `leaseTtlMs`, then drops what is left. Tokens are only ever spent after the
 * store removed them from the shared bucket, so the leases add nothing to what the bucket grants,
 * they only move when a granted token is spent. The bound, for one key, N nodes, over any interval
 * of length T:
 *
 *   allowed ≤ burst + rate × T + min(N × (leaseSize − 1), rate × leaseTtl)
 *
 * (what a node spends in the interval is what the store granted it in it, plus at most
 * leaseSize − 1 tokens left from before, and those were granted at most leaseTtl earlier). The
 * other side of a lease: a node may be refused while another node still holds up to
 * leaseSize − 1 unspent tokens of the same key, for at most leaseTtl.
 */
import { type FallbackOptions, StoreGuard } from "./fallback.ts";
import type { RateStore } from "./shared-store.ts";
import { type TokenBucketOptions, TokenBuckets } from "./token-bucket.ts";

/** Largest lease, whatever the burst: beyond it, round trips saved stop mattering. */
export const MAX_LEASE_SIZE = 8;
export const DEFAULT_LEASE_TTL_MS = 1000;
/** Expired leases are swept once this many keys hold one. */
const SWEEP_ABOVE = 10_000;

export interface SharedTokenBucketOptions extends TokenBucketOptions, FallbackOptions {
  /** Names the limit in logs. Default "event rate". */
  name?: string;
  /**
   * Tokens taken from the store per round trip. Default a quarter of the burst, between 1 and
   * MAX_LEASE_SIZE (1 disables leasing: one round trip per take).
   */
  leaseSize?: number;
  /** Unspent leased tokens are dropped this long after the lease, in ms. Default 1000. */
  leaseTtlMs?: number;
}

interface Lease {
  tokens: number;
  /** performance.now() after which the lease's tokens are dropped. */
  until: number;
}

/** The default lease: a quarter of the burst, between 1 and MAX_LEASE_SIZE. */
export const defaultLeaseSize = (burst: number): number =>
  Math.max(1, Math.min(MAX_LEASE_SIZE, Math.floor(burst / 4)));

export class SharedTokenBuckets {
  readonly guard: StoreGuard;
  readonly leaseSize: number;
  readonly leaseTtlMs: number;
  private readonly local: TokenBuckets;
  /** Per key, the last take in flight: the next one waits for it. */
  private readonly tails = new Map<string, Promise<boolean>>();
  /** Per key, tokens this node took from the store and has not spent yet. */
  private readonly leases = new Map<string, Lease>();

  constructor(
    private readonly store: RateStore,
    available: () => boolean,
    private readonly options: SharedTokenBucketOptions,
  ) {
    this.local = new TokenBuckets(options);
    this.guard = new StoreGuard(options.name ?? "event rate", available, options);
    this.leaseSize = Math.max(1, Math.floor(options.leaseSize ?? defaultLeaseSize(options.burst)));
    this.leaseTtlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  }

  /** Takes one token for `key`; false when the bucket is empty (the action must be dropped). */
  take(key: string): Promise<boolean> {
    const previous = this.tails.get(key);
    // Nothing in flight for this key and a leased token left: answered without the store.
    if (previous === undefined && this.spendLeased(key)) return Promise.resolve(true);
    const result = (previous ?? Promise.resolve(true)).then(
      () =>
        this.spendLeased(key) ||
        this.guard.run(
          () => this.lease(key),
          () => this.local.take(key),
        ),
    );
    this.tails.set(key, result);
    void result.finally(() => {
      if (this.tails.get(key) === result) this.tails.delete(key);
    });
    return result;
  }

  /** Tokens of `key` held by this node right now (tests, diagnostics). */
  leased(key: string): number {
    const lease = this.leases.get(key);
    return lease && lease.until > performance.now() ? lease.tokens : 0;
  }

  private spendLeased(key: string): boolean {
    const lease = this.leases.get(key);
    if (!lease) return false;
    if (lease.until <= performance.now()) {
      this.leases.delete(key);
      return false;
    }
    if (--lease.tokens <= 0) this.leases.delete(key);
    return true;
  }

  /** One round trip: up to leaseSize tokens; one is spent now, the rest kept for leaseTtlMs. */
  private async lease(key: string): Promise<boolean> {
    const { ratePerSecond, burst } = this.options;
    // The lease runs from the ask: the store granted the tokens at some moment after it.
    const until = performance.now() + this.leaseTtlMs;
    const granted = await this.store.take(key, ratePerSecond, burst, this.leaseSize);
    if (granted > 1) {
      if (this.leases.size >= SWEEP_ABOVE) this.sweep();
      this.leases.set(key, { tokens: granted - 1, until });
    }
    return granted > 0;
  }

  /** Drops expired leases of keys that were not used again. */
  private sweep(): void {
    const now = performance.now();
    for (const [key, lease] of this.leases) if (lease.until <= now) this.leases.delete(key);
  }
}
