/**
 * `bun scripts/load [--compare] [--quick] ...`: the load benchmark. Runs each scenario against each
 * server in turn (so drift on a shared machine hits both alike), prints live progress on stderr,
 * writes JSON lines, a markdown table and an SVG chart under bench/results/, and prints the table.
 */
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { type CliOptions, parseArgs, USAGE } from "./cli.ts";
import { pinProcess, raiseFdLimit, readFdLimit } from "./proc.ts";
import { Progress } from "./progress.ts";
import { updateBenchmarksDoc } from "./report/doc.ts";
import { collectRunInfo, loadAverage } from "./report/environment.ts";
import { markdownReport, type TargetResults } from "./report/markdown.ts";
import { svgReport } from "./report/svg.ts";
import { chatDefaults, runChat } from "./scenarios/chat.ts";
import { connectDefaults, runConnect } from "./scenarios/connect.ts";
import { echoDefaults, runEcho } from "./scenarios/echo.ts";
import { fanoutDefaults, runFanout } from "./scenarios/fanout.ts";
import { pollingDefaults, runPolling } from "./scenarios/polling.ts";
import { runScale, scaleDefaults } from "./scenarios/scale.ts";
import type { RunContext, Sample, ScenarioName, ScenarioResult } from "./scenarios/types.ts";
import {
  FD_LIMIT,
  startTarget,
  stopAllTargets,
  TARGET_COMMANDS,
  type TargetName,
  targetRuns,
} from "./target.ts";

const ROOT = resolve(import.meta.dir, "../..");

function runScenario(name: ScenarioName, ctx: RunContext, options: CliOptions): Promise<ScenarioResult> {
  switch (name) {
    case "connect":
      return runConnect(ctx, connectDefaults(options.quick));
    case "fanout":
      return runFanout(ctx, fanoutDefaults(options.quick));
    case "echo":
      return runEcho(ctx, echoDefaults(options.quick));
    case "polling":
      return runPolling(ctx, pollingDefaults(options.quick));
    case "scale":
      return runScale(ctx, {
        ...scaleDefaults(options.quick),
        ...(options.scaleCounts ? { counts: options.scaleCounts } : {}),
        ...(options.perAddress ? { perAddress: options.perAddress } : {}),
      });
    case "chat":
      return runChat(ctx, {
        ...chatDefaults(options.quick),
        databases: options.chatDatabases,
        core: options.serverCore,
        countQueries: options.countQueries,
        ...(options.chatRate ? { messagesPerSec: options.chatRate } : {}),
        ...(options.profileDir ? { profileDir: resolve(ROOT, options.profileDir, "chat") } : {}),
      });
  }
}

async function main(): Promise<number> {
  let options: CliOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const progress = new Progress();
  const generatorPinned = options.generatorCore !== null && pinProcess(process.pid, options.generatorCore);
  if (options.generatorCore !== null && !generatorPinned)
    progress.line("warning: taskset failed, generator unpinned");
  raiseFdLimit(process.pid, FD_LIMIT);
  const fdLimit = readFdLimit(process.pid);
  if (fdLimit < 12_000)
    progress.line(`warning: open-file limit ${fdLimit}: 10k connections need more (ulimit -n 65536)`);
  else if (options.scenarios.includes("scale") && fdLimit < 110_000)
    progress.line(
      `warning: open-file limit ${fdLimit}: the 100k scale step needs more (ulimit -n 262144, as root)`,
    );

  const info = collectRunInfo({ argv: process.argv.slice(2), ...options, generatorPinned });
  const outDir = resolve(ROOT, options.outDir);
  mkdirSync(outDir, { recursive: true });
  const base = resolve(outDir, info.runId);
  const jsonl = `${base}.jsonl`;
  const record = (line: object) => appendFileSync(jsonl, `${JSON.stringify(line)}\n`);
  record({ kind: "run", ...info });
  progress.line(
    `load benchmark ${info.runId}: ${options.targets.join(" vs ")}; scenarios ${options.scenarios.join(", ")}`,
  );
  if (info.loadAverage.start > 1) {
    progress.line(
      `warning: load average ${info.loadAverage.start} before start: other work shares these cores`,
    );
  }

  const results: TargetResults[] = options.targets.map((target) => ({ target, metrics: [], errors: [] }));
  const samples: Sample[] = [];
  const started = performance.now();
  for (const scenario of options.scenarios) {
    for (const result of results) {
      const target = result.target as TargetName;
      if (!targetRuns(target, scenario)) continue;
      progress.line(`▶ ${scenario} · ${target}`);
      const ctx: RunContext = {
        target,
        start: (env) =>
          startTarget(target, TARGET_COMMANDS[target], {
            core: options.serverCore,
            ...(env ? { env } : {}),
            ...(options.profileDir ? { profileDir: resolve(ROOT, options.profileDir, target) } : {}),
          }),
        reps: options.reps,
        quick: options.quick,
        progress,
      };
      try {
        const out = await runScenario(scenario, ctx, options);
        result.metrics.push(...out.metrics);
        samples.push(...out.samples);
        for (const s of out.samples) record(s);
        for (const m of out.metrics) record({ kind: "metric", target, ...m });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        result.errors.push({ scenario, message });
        record({ kind: "error", target, scenario, message });
        progress.line(`  ✗ ${scenario} · ${target} failed: ${message}`);
      }
    }
  }
  info.loadAverage.end = loadAverage();
  const markdown = markdownReport(info, results);
  writeFileSync(`${base}.md`, markdown);
  writeFileSync(`${base}.svg`, svgReport(samples, `Switchboard load benchmark ${info.date}`));
  writeFileSync(resolve(outDir, "latest.md"), markdown);
  writeFileSync(resolve(outDir, "latest.svg"), svgReport(samples, `Switchboard load benchmark ${info.date}`));
  if (options.updateDoc)
    updateBenchmarksDoc(resolve(ROOT, "BENCHMARKS.md"), markdown, `${options.outDir}/${info.runId}.svg`);
  process.stdout.write(`\n${markdown}\n`);
  progress.line(
    `done in ${Math.round((performance.now() - started) / 1000)} s: ${base}.{jsonl,md,svg}` +
      `${options.updateDoc ? " and BENCHMARKS.md" : ""}`,
  );
  return results.some((r) => r.errors.length > 0) ? 1 : 0;
}

// An interrupted run takes its server processes down with it instead of orphaning them.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping the servers\n`);
    void stopAllTargets().finally(() => process.exit(130));
  });
}

// `bun scripts/load cluster [...]`: fan-out through 1 node vs 2 nodes over Redis and PostgreSQL, with
// the ratio (the cluster mode lives beside the cluster code, in scripts/cluster/bench.ts).
if (process.argv[2] === "cluster") {
  await import("../cluster/bench.ts");
  process.exit(0);
}

process.exit(await main());
