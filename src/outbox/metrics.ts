/**
 * The outbox on /metrics: queue depth per state and the age of the oldest unfinished job (read
 * from the database at scrape time, so every node reports the shared queue), attempts by outcome
 * and failures by reason (this node's counters).
 */
import type { Database } from "../../db/client.ts";
import { Counter, Gauge, type Registry } from "../metrics/registry.ts";
import { countJobs, type JobState, type StateCount } from "./store.ts";

const STATES: readonly JobState[] = ["queued", "leased", "failed"];
/** A scrape must not hang on a slow database: the last numbers are shown instead. */
const REFRESH_TIMEOUT_MS = 2000;

export type AttemptOutcome = "succeeded" | "retry" | "failed" | "skipped";

export class OutboxMetrics {
  #counts: StateCount[] = [];

  readonly attempts = new Counter(
    "switchboard_outbox_attempts_total",
    "Outbox job attempts by kind and outcome (succeeded, retry, failed, skipped).",
  );
  readonly failures = new Counter(
    "switchboard_outbox_failures_total",
    "Failed outbox attempts by kind, reason (error code) and whether the job gave up (final).",
  );

  constructor(
    private readonly db: Database,
    registry: Registry,
  ) {
    registry.register(this.attempts);
    registry.register(this.failures);
    registry.register(
      new Gauge("switchboard_outbox_jobs", "Outbox jobs by state (queue depth: queued + leased).", () =>
        STATES.map((state) => [{ state }, this.#counts.find((c) => c.state === state)?.count ?? 0]),
      ),
    );
    registry.register(
      new Gauge(
        "switchboard_outbox_oldest_pending_seconds",
        "Age of the oldest outbox job not finished yet (queued or leased); 0 when none.",
        () => {
          const pending = this.#counts.filter((c) => c.state !== "failed" && c.count > 0);
          return [[{}, pending.length ? Math.max(...pending.map((c) => c.oldestMs)) / 1000 : 0]];
        },
      ),
    );
  }

  /** Reads the queue's state (called before each scrape). Keeps the last numbers on failure. */
  async refresh(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      this.#counts = await Promise.race([
        countJobs(this.db),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("timeout")), REFRESH_TIMEOUT_MS);
        }),
      ]);
    } catch {
      // The gauges show the last known state; /health reports the database problem.
    } finally {
      clearTimeout(timer);
    }
  }
}
