/**
 * When the cluster store cannot answer a limit check (unreachable, or slower than the deadline),
 * limits fall back to this node's own count for a while instead of failing open or blocking
 * events: a bounded degradation (at most one node's limit per node) that is logged and counted.
 */
import { createLogger } from "../../protocol/logger.ts";

const log = createLogger("limits");

export interface FallbackOptions {
  /** Longest wait for the store, in ms, before this check falls back. Default 1000. */
  deadlineMs?: number;
  /** After a failure, the store is not asked again for this long, in ms. Default 5000. */
  suspendMs?: number;
}

export const FALLBACK_DEFAULTS = { deadlineMs: 1000, suspendMs: 5000 } as const;

/** Fallback counters, one per limit, exposed on /metrics. */
export interface FallbackCounters {
  /** Checks answered by the local limit because the store could not answer. */
  fallbacks: number;
}

export class StoreGuard {
  readonly counters: FallbackCounters = { fallbacks: 0 };
  private suspendedUntil = 0;
  private readonly deadlineMs: number;
  private readonly suspendMs: number;

  constructor(
    private readonly limit: string,
    private readonly available: () => boolean,
    options: FallbackOptions = {},
  ) {
    this.deadlineMs = options.deadlineMs ?? FALLBACK_DEFAULTS.deadlineMs;
    this.suspendMs = options.suspendMs ?? FALLBACK_DEFAULTS.suspendMs;
  }

  /** The store's answer, or `fallback()`'s when the store is away, suspended, failing or late. */
  async run<T>(ask: () => Promise<T>, fallback: () => T): Promise<T> {
    if (Date.now() < this.suspendedUntil || !this.available()) return this.fallBack(fallback);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        ask(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${this.deadlineMs} ms`)),
            this.deadlineMs,
          );
        }),
      ]);
    } catch (err) {
      this.suspendedUntil = Date.now() + this.suspendMs;
      log.warn(`cluster-wide ${this.limit} limit unavailable: using this node's own limit`, {
        error: err instanceof Error ? err.message : String(err),
        retryInMs: this.suspendMs,
      });
      return this.fallBack(fallback);
    } finally {
      clearTimeout(timer);
    }
  }

  private fallBack<T>(fallback: () => T): T {
    this.counters.fallbacks++;
    return fallback();
  }
}
