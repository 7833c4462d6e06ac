/** What scenarios receive from the runner and hand back to the reports. */
import type { Progress } from "../progress.ts";
import type { RunningTarget } from "../target.ts";

export type ScenarioName = "connect" | "fanout" | "echo" | "polling" | "chat" | "scale";
export const SCENARIOS: readonly ScenarioName[] = ["connect", "fanout", "echo", "polling", "chat", "scale"];

/** One reported figure. `key` is stable across targets so `--compare` can pair them. */
export interface Metric {
  scenario: ScenarioName;
  key: string;
  label: string;
  unit: string;
  better: "higher" | "lower";
  /** The median over repetitions (or the single value). */
  value: number;
  /** Min and max over repetitions, when there were several. */
  range?: [number, number];
  /** True when the generator's core was the busy one: the figure is only a bound for the server. */
  generatorBound?: boolean;
  /** True when server or generator waited for a CPU more than NOISY_WAIT_PERCENT: other work interfered. */
  noisy?: boolean;
  note?: string;
}

/** A raw measurement (one step, one repetition), written as a JSON line and used by the charts. */
export type Sample = { scenario: ScenarioName; kind: string } & Record<string, unknown>;

export interface ScenarioResult {
  metrics: Metric[];
  samples: Sample[];
}

export interface RunContext {
  /** Label of the server under test ("official", "socketio-bun", "switchboard", "bare-bun"). */
  target: string;
  /** Start a fresh server process of the target under test, with extra environment (e.g. HOST). */
  start(env?: Record<string, string>): Promise<RunningTarget>;
  /** Repetitions for figures reported as median and range. */
  reps: number;
  /** Shorter warm-ups, windows and smaller populations. */
  quick: boolean;
  progress: Progress;
}

/** Above this share of its core the generator, not the server, may be what limits a figure. */
export const GENERATOR_SATURATED_PERCENT = 90;

/**
 * Above this share of the wall time spent waiting for a CPU (run queue, /proc/<pid>/schedstat),
 * server or generator were held up by other work on the machine: the figure is flagged as noisy.
 */
export const NOISY_WAIT_PERCENT = 10;

/**
 * The idle hold before the RSS per idle connection is read. The ramp leaves its handshakes' garbage
 * in the server's heap, and when it is collected is the runtime's choice, not a cost of the idle
 * connections: Bun collects on allocation and on an idle timer (edens every second while the heap
 * grows, full collections once it has been quiet for about 10 s), and the allocator returns freed
 * pages a little later. Read 5 s after a ramp, the same server measured anywhere from 4.2 to 5.5 KiB
 * per connection depending on whether a collection had happened yet; from about 11 s on it held
 * steady (scripts/load/heap-diff.ts shows the live heap). 15 s is past that, for every target
 * alike (the scale and connect scenarios). The scale scenario also reads the RSS 5 s after the
 * ramp, reported as the memory right after the burst.
 */
export const IDLE_RSS_HOLD_MS = 15_000;
