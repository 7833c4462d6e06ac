/**
 * The targets, keyed by metric: either an absolute bound on Switchboard's figure or a
 * minimum advantage over the official server from the same `--compare` run.
 */
export interface Goal {
  text: string;
  /** Absolute bound on Switchboard's value. */
  max?: number;
  /** Minimum advantage (>1 = Switchboard better) over the official server. */
  minAdvantage?: number;
}

export const GOALS: Record<string, Goal> = {
  "connect.10000.rss": { text: "≤ 6 KiB", max: 6 },
  "connect.10000.rate": { text: "≥ 2×", minAdvantage: 2 },
  "fanout.capacity": { text: "≥ 10×", minAdvantage: 10 },
  "fanout.fixed.cpu": { text: "≤ 45 %", max: 45 },
  "echo.k8.acks": { text: "≥ 3×", minAdvantage: 3 },
  "polling.fixed.cpu": { text: "no worse (≥ 1×)", minAdvantage: 1 },
  "polling.fixed.p99": { text: "no worse (≥ 1×)", minAdvantage: 1 },
  "chat.postgres.p99": { text: "< 100 ms", max: 100 },
};
