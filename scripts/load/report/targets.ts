/**
 * The targets, keyed by metric: either an absolute bound on Switchboard's figure or a
 * minimum advantage over the official server from the same `--compare` run.
 */
export interface Goal {
  text: string;
  /** Absolute bound on Switchboard's value. */
  max?: number;
  /** Minimum advantage (>1 = Switchboard better) over `versus` (default the official server). */
  minAdvantage?: number;
  /** The server `minAdvantage` is measured against. Default "official". */
  versus?: string;
}

export const GOALS: Record<string, Goal> = {
  "connect.10000.rss": { text: "≤ 4 KiB", max: 4 },
  "connect.10000.rate": { text: "≥ 2×", minAdvantage: 2 },
  "fanout.capacity": { text: "≥ 10×", minAdvantage: 10 },
  "fanout.fixed.cpu": { text: "≤ 45 %", max: 45 },
  // Within 1.1× of the floor's CPU per delivery: Switchboard's advantage over it at least 1/1.1.
  "fanout.fixed.us": { text: "≤ 1.1× floor", minAdvantage: 1 / 1.1, versus: "bare-bun" },
  "fanout.rooms20.us": { text: "≤ 1.1× floor", minAdvantage: 1 / 1.1, versus: "bare-bun" },
  "echo.k8.acks": { text: "≥ 3×", minAdvantage: 3 },
  "polling.fixed.cpu": { text: "no worse (≥ 1×)", minAdvantage: 1 },
  "polling.fixed.p99": { text: "no worse (≥ 1×)", minAdvantage: 1 },
  "chat.postgres.p99": { text: "< 100 ms", max: 100 },
  "scale.100000.rss": { text: "≤ 4 KiB", max: 4 },
  "scale.100000.last": { text: "< 1 s", max: 1_000 },
};
