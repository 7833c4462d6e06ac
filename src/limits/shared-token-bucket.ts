/**
 * Per-key token buckets shared by every node of a cluster: each take is one atomic operation in
 * the cluster store (redis-limits.ts / postgres-limits.ts), so a user's event rate holds across
 * nodes and workers. When the store cannot answer, the node's own TokenBuckets decide (see
 * fallback.ts). Takes of one key are answered in the order they were asked, so a user's events
 * are never reordered by the round trips.
 */
import { type FallbackOptions, StoreGuard } from "./fallback.ts";
import type { RateStore } from "./shared-store.ts";
import { type TokenBucketOptions, TokenBuckets } from "./token-bucket.ts";

export interface SharedTokenBucketOptions extends TokenBucketOptions, FallbackOptions {
  /** Names the limit in logs. Default "event rate". */
  name?: string;
}

export class SharedTokenBuckets {
  readonly guard: StoreGuard;
  private readonly local: TokenBuckets;
  /** Per key, the last take in flight: the next one waits for it. */
  private readonly tails = new Map<string, Promise<boolean>>();

  constructor(
    private readonly store: RateStore,
    available: () => boolean,
    private readonly options: SharedTokenBucketOptions,
  ) {
    this.local = new TokenBuckets(options);
    this.guard = new StoreGuard(options.name ?? "event rate", available, options);
  }

  /** Takes one token for `key`; false when the bucket is empty (the action must be dropped). */
  take(key: string): Promise<boolean> {
    const previous = this.tails.get(key) ?? Promise.resolve(true);
    const result = previous.then(() =>
      this.guard.run(
        () => this.store.take(key, this.options.ratePerSecond, this.options.burst),
        () => this.local.take(key),
      ),
    );
    this.tails.set(key, result);
    void result.finally(() => {
      if (this.tails.get(key) === result) this.tails.delete(key);
    });
    return result;
  }
}
