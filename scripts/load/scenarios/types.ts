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
