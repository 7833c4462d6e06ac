/**
 * Keyed token buckets (per user, per IP): each key holds up to `burst` tokens, refilled at
 * `ratePerSecond`; an action costs one token and is refused when none is left. Refill is computed
 * lazily on use, so idle keys cost nothing but their map entry, and full buckets are swept.
 */

export interface TokenBucketOptions {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Bucket capacity (the burst allowed after a quiet period). */
  burst: number;
  /** Sweep full buckets once this many keys are tracked. Default 10000. */
  sweepAbove?: number;
  /** Clock in ms (tests). Default performance.now. */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();
  readonly #rate: number;
  readonly #burst: number;
  readonly #sweepAbove: number;
  readonly #now: () => number;

  constructor(options: TokenBucketOptions) {
    this.#rate = options.ratePerSecond / 1000;
    this.#burst = options.burst;
    this.#sweepAbove = options.sweepAbove ?? 10_000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Takes one token for `key`; false when the bucket is empty (the action must be dropped). */
  take(key: string): boolean {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= this.#sweepAbove) this.#sweep(now);
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#rate);
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.#buckets.size;
  }

  #sweep(now: number): void {
    for (const [key, b] of this.#buckets)
      if (b.tokens + (now - b.at) * this.#rate >= this.#burst) this.#buckets.delete(key);
  }
}
