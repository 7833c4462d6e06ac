/**
 * polling: the fan-out rig with polling-only receivers (no upgrade), publishers on websocket.
 * The fallback path must not collapse: figures are the server's CPU and the latency at fixed
 * offered rates, plus a short capacity search like `fanout`'s.
 */
import { describeStep, fixedRateMetrics, stepPasses } from "./fanout.ts";
import { FanoutRig, type StepResult } from "./rig.ts";
import type { Metric, RunContext, Sample, ScenarioResult } from "./types.ts";

export interface PollingOptions {
  /** Rooms. Default 4. */
  rooms: number;
  /** Polling members per room. Default 25 (100 receivers: each holds one long-poll request). */
  members: number;
  payloadBytes: number;
  /** Fixed offered rate for CPU and latency, deliveries/s. Default 2,000. */
  fixedRate: number;
  /** Offered rates of the capacity search, tried in order until one fails. */
  searchRates: number[];
  p99LimitMs: number;
  warmupMs: number;
  measureMs: number;
}

export function pollingDefaults(quick: boolean): PollingOptions {
  return {
    rooms: 4,
    members: 25,
    payloadBytes: 64,
    fixedRate: 2_000,
    searchRates: quick ? [5_000, 10_000, 20_000] : [5_000, 10_000, 20_000, 40_000, 80_000],
    p99LimitMs: 50,
    warmupMs: quick ? 500 : 1_000,
    measureMs: quick ? 1_500 : 3_000,
  };
}

export async function runPolling(ctx: RunContext, options: PollingOptions): Promise<ScenarioResult> {
  const target = await ctx.start();
  const samples: Sample[] = [];
  const metrics: Metric[] = [];
  const rig = new FanoutRig({
    baseUrl: target.baseUrl,
    rooms: options.rooms,
    members: options.members,
    transport: "polling",
    onProgress: (t) => ctx.progress.status(`polling ${ctx.target}: ${t}`),
  });
  const shape = `${options.rooms}×${options.members} polling`;
  try {
    await rig.open();
    ctx.progress.status(`polling ${ctx.target}: warm-up`);
    await rig.step({ ...options, deliveriesPerSec: options.fixedRate, serverPid: target.pid });
    const fixed: StepResult[] = [];
    for (let rep = 0; rep < ctx.reps; rep++) {
      ctx.progress.status(`polling ${ctx.target}: ${options.fixedRate} deliveries/s, rep ${rep + 1}`);
      const s = await rig.step({ ...options, deliveriesPerSec: options.fixedRate, serverPid: target.pid });
      fixed.push(s);
      samples.push({ scenario: "polling", kind: "fixed", target: ctx.target, rep, ...s });
      ctx.progress.line(describeStep(`  polling ${ctx.target} fixed rate rep ${rep + 1}:`, s));
    }
    metrics.push(
      ...fixedRateMetrics("polling", "polling.fixed", `${shape} at ${options.fixedRate / 1000}k/s`, fixed),
    );

    // The fixed rate counts as a passing rate when every repetition of it passed.
    let best: StepResult | null = fixed.every((f) => stepPasses(f, options.p99LimitMs, rig.disconnects))
      ? (fixed[0] ?? null)
      : null;
    let failed: StepResult | null = null;
    for (const rate of options.searchRates) {
      ctx.progress.status(`polling ${ctx.target}: offering ${rate} deliveries/s`);
      const s = await rig.step({ ...options, deliveriesPerSec: rate, serverPid: target.pid });
      samples.push({ scenario: "polling", kind: "step", target: ctx.target, ...s });
      const pass = stepPasses(s, options.p99LimitMs, rig.disconnects);
      ctx.progress.line(describeStep(`  polling ${ctx.target} ${pass ? "pass" : "FAIL"}`, s));
      if (!pass) {
        failed = s;
        break;
      }
      best = s;
    }
    metrics.push({
      scenario: "polling",
      key: "polling.capacity",
      label: `${shape}: deliveries/s at p99 < ${options.p99LimitMs} ms (of ${[options.fixedRate, ...options.searchRates].join("/")})`,
      unit: "msg/s",
      better: "higher",
      value: best?.deliveredPerSec ?? 0,
      generatorBound: Boolean(best?.generatorBound || failed?.generatorBound),
      ...(failed
        ? {
            note: `failed at ${failed.deliveriesPerSec}/s (p99 ${failed.latency.p99} ms, lost ${failed.lost})`,
          }
        : {}),
    });
  } finally {
    await rig.close().catch(() => {});
    await target.stop();
  }
  return { metrics, samples };
}
