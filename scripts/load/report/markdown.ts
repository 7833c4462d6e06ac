/**
 * The results table: one row per figure, one column per server, then Switchboard's advantage over
 * each other server of the run (>1 = Switchboard better, whatever the figure's direction; against
 * the bare-Bun floor it is normally below 1: 0.8× means Switchboard costs 1.25× the floor) and the
 * issue's target where there is one.
 */
import type { Metric } from "../scenarios/types.ts";
import type { RunInfo } from "./environment.ts";
import { GOALS, type Goal } from "./targets.ts";

export interface TargetResults {
  target: string;
  metrics: Metric[];
  errors: { scenario: string; message: string }[];
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return "–";
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString("en");
  return String(Math.round(n * 100) / 100);
}

/** `12,345 (11,900–12,800)`, with `≥` when the generator was the bottleneck of a throughput. */
export function cell(m: Metric | undefined): string {
  if (!m) return "–";
  const bound = m.generatorBound ? (m.better === "higher" ? "≥ " : "≤ ") : "";
  const range = m.range && m.range[0] !== m.range[1] ? ` (${fmt(m.range[0])}–${fmt(m.range[1])})` : "";
  const flag = `${m.generatorBound ? " †" : ""}${m.noisy ? " ‡" : ""}`;
  return `${bound}${fmt(m.value)}${range}${flag}`;
}

/** Column titles of the advantage columns, by the server Switchboard is compared with. */
const VERSUS_TITLE: Record<string, string> = {
  official: "× official",
  "socketio-bun": "× socket.io+bun-engine",
  "bare-bun": "× bare Bun (floor)",
};

/** >1 means Switchboard is better, for "higher is better" and "lower is better" figures alike. */
export function advantage(sb: Metric | undefined, off: Metric | undefined): number {
  if (!sb || !off || !(sb.value > 0) || !(off.value > 0)) return Number.NaN;
  return sb.better === "higher" ? sb.value / off.value : off.value / sb.value;
}

function verdict(goal: Goal | undefined, sb: Metric | undefined, adv: number): string {
  if (!goal || !sb) return "";
  // A figure that could not be measured meets nothing and misses nothing.
  if (!Number.isFinite(sb.value)) return `${goal.text}: not measured`;
  // A figure taken while other work held the cores gets a verdict, but marked as such.
  const caveat = sb.noisy ? " (noisy ‡)" : "";
  if (goal.max !== undefined) return `${goal.text}: ${sb.value <= goal.max ? "met" : "**missed**"}${caveat}`;
  if (goal.minAdvantage !== undefined) {
    if (!Number.isFinite(adv)) return `${goal.text}: –`;
    const met = adv >= goal.minAdvantage;
    return `${goal.text}: ${met ? "met" : sb.generatorBound ? "**not shown** (generator-bound)" : "**missed**"}${caveat}`;
  }
  return goal.text;
}

export function markdownReport(info: RunInfo, results: TargetResults[]): string {
  const lines: string[] = [];
  const names = results.map((r) => r.target);
  const versus = names.includes("switchboard") ? names.filter((n) => n !== "switchboard") : [];
  const compare = versus.length > 0;
  lines.push(`Run ${info.runId} — ${info.date}`);
  lines.push("");
  lines.push(`- Command: \`${info.command}\``);
  lines.push(
    `- Machine: ${info.machine.cores} cores, ${info.machine.model}, ${info.machine.memGiB} GiB, Linux ${info.machine.kernel}; ` +
      `load average ${info.loadAverage.start}${info.loadAverage.end !== undefined ? ` → ${info.loadAverage.end}` : ""} (1 min, start → end)`,
  );
  lines.push(
    `- Versions: Bun ${info.versions.bun}, Node ${info.versions.node}, socket.io ${info.versions.socketio}, ` +
      `@socket.io/bun-engine ${info.versions.bunEngine}, Switchboard ${info.versions.switchboard}`,
  );
  lines.push(
    `- Pinning: server on core ${info.pinning.server ?? "any"}, generator on core ${info.pinning.generator ?? "any"}` +
      `${info.pinning.generator !== null && !info.pinning.generatorPinned ? " (taskset failed: unpinned)" : ""}; ` +
      `${info.reps} repetition(s) per median (range in parentheses)${info.quick ? "; --quick" : ""}`,
  );
  lines.push("");
  const header = ["scenario", "figure", "unit", ...names];
  if (compare) header.push(...versus.map((v) => VERSUS_TITLE[v] ?? `× ${v}`));
  if (compare) header.push("target");
  lines.push(`| ${header.join(" | ")} |`);
  lines.push(`|${header.map(() => "---").join("|")}|`);
  const keys: Metric[] = [];
  for (const r of results) for (const m of r.metrics) if (!keys.some((k) => k.key === m.key)) keys.push(m);
  for (const k of keys) {
    const byTarget = results.map((r) => r.metrics.find((m) => m.key === k.key));
    const row = [k.scenario, k.label, k.unit, ...byTarget.map(cell)];
    const of = (target: string) =>
      results.find((r) => r.target === target)?.metrics.find((m) => m.key === k.key);
    const sb = of("switchboard");
    for (const v of versus) {
      const adv = advantage(sb, of(v));
      row.push(Number.isFinite(adv) ? `${fmt(adv)}×` : "–");
    }
    if (compare) {
      const goal = GOALS[k.key];
      row.push(verdict(goal, sb, advantage(sb, of(goal?.versus ?? "official"))));
    }
    lines.push(`| ${row.join(" | ")} |`);
  }
  lines.push("");
  if (compare) {
    lines.push(
      "× columns: Switchboard's advantage over that server in this run, > 1 = Switchboard better " +
        "(a ratio of costs or of rates, whichever way the figure improves); against the bare-Bun " +
        "floor, 0.8× means Switchboard costs 1.25× the floor. The floor speaks websocket only: no polling row.",
    );
  }
  lines.push(
    "† the generator's core was above 90 % busy during this measurement: the figure is a bound set by the " +
      "load generator, not the server's limit (≥ for throughputs).",
  );
  lines.push(
    "‡ server or generator waited for a CPU more than 10 % of the window (run-queue time from " +
      "/proc/<pid>/schedstat): other work on the machine interfered; read the figure with care.",
  );
  const notes = results.flatMap((r) =>
    r.metrics.filter((m) => m.note).map((m) => `- ${r.target} · ${m.label}: ${m.note}`),
  );
  const errors = results.flatMap((r) =>
    r.errors.map((e) => `- ${r.target} · ${e.scenario}: **failed**: ${e.message}`),
  );
  if (notes.length + errors.length > 0) {
    lines.push("");
    lines.push("Notes:");
    lines.push(...errors, ...notes);
  }
  return `${lines.join("\n")}\n`;
}
