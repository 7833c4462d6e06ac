/**
 * Exponential backoff with jitter for the retries the client module runs itself (a handshake the
 * server refused with "retry later", a re-join refused for a passing reason). Jitter spreads the
 * retries of many clients that were refused at the same moment, e.g. during a database outage.
 */

export interface BackoffOptions {
  /** The first delay in milliseconds. */
  minMs: number;
  /** The ceiling of the delay in milliseconds; reached after a few doublings and kept. */
  maxMs: number;
  /** Fraction of each delay taken off at random (0: none, 0.5: up to half). Default 0.5. */
  jitter?: number;
  /** Source of randomness in [0, 1). Default `Math.random` (tests pass a fixed one). */
  random?: () => number;
}

export class Backoff {
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #attempts = 0;

  constructor(options: BackoffOptions) {
    this.#minMs = Math.max(0, options.minMs);
    this.#maxMs = Math.max(this.#minMs, options.maxMs);
    this.#jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
    this.#random = options.random ?? Math.random;
  }

  /** Retries handed out since the last `reset()`. */
  get attempts(): number {
    return this.#attempts;
  }

  /** The delay before the next retry: doubles each time up to `maxMs`, minus a random share. */
  next(): number {
    // The exponent is capped so a long outage never overflows to Infinity.
    const base = Math.min(this.#maxMs, this.#minMs * 2 ** Math.min(this.#attempts, 30));
    this.#attempts++;
    return Math.round(base * (1 - this.#jitter * this.#random()));
  }

  /** After a success: the next failure starts again from `minMs`. */
  reset(): void {
    this.#attempts = 0;
  }
}
