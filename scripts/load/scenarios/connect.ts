/**
 * connect: ramp N websocket clients to the Socket.IO-connected state with a bounded number of
 * handshakes in flight. Figures: connects/s, handshake latency, and the server's RSS per idle
 * connection, read from /proc after a hold (RSS before the ramp subtracted).
 */
import { WsClient } from "../clients/ws.ts";
import { CpuMeter } from "../proc.ts";
import { LatencyHistogram, type LatencySummary, round, spread } from "../stats.ts";
import { closeClients, openClients } from "./pool.ts";
import {
  GENERATOR_SATURATED_PERCENT,
  IDLE_RSS_HOLD_MS,
  type Metric,
  NOISY_WAIT_PERCENT,
  type RunContext,
  type Sample,
  type ScenarioResult,
} from "./types.ts";

export interface ConnectOptions {
  /** Connection counts to ramp to, one server process each. Default [1,000, 10,000] ([1,000] quick). */
  counts: number[];
  /** Handshakes in flight during the ramp. Default 100. */
  window: number;
  /** Idle hold before RSS is read, ms. Default 15,000 (2,000 quick): see IDLE_RSS_HOLD_MS. */
  holdMs: number;
  /** Connections opened and closed before the baseline RSS (JIT, first allocations). Default 200. */
  warmupConnections: number;
  /** RSS samples taken during each ramp for the memory chart. Default 10. */
  rssSamples: number;
}

export function connectDefaults(quick: boolean): ConnectOptions {
  return {
    counts: quick ? [1_000] : [1_000, 10_000],
    window: 100,
    holdMs: quick ? 2_000 : IDLE_RSS_HOLD_MS,
    warmupConnections: 200,
    rssSamples: 10,
  };
}

/** Settle time after the warm-up clients closed, before the baseline RSS is read. */
const SETTLE_MS = 500;

interface ConnectRun {
  count: number;
  connected: number;
  failures: number;
  firstFailure?: string;
  connectsPerSec: number;
  handshake: LatencySummary;
  rssBaseKb: number;
  rssHeldKb: number;
  rssPerConnKb: number;
  serverCpu: number;
  generatorCpu: number;
  serverWait: number;
  generatorWait: number;
  /** Server CPU per connection handshake during the ramp, µs. */
  serverUsPerConnect: number;
  /** [connections, rss KiB] during the ramp and after the hold. */
  rssCurve: [number, number][];
}

async function runOnce(ctx: RunContext, count: number, options: ConnectOptions): Promise<ConnectRun> {
  const target = await ctx.start();
  try {
    const make = () => new WsClient({ baseUrl: target.baseUrl, connectTimeoutMs: 30_000 });
    const warm = await openClients(options.warmupConnections, options.window, make);
    await closeClients(warm.clients, SETTLE_MS);
    const rssBaseKb = target.rssKb();
    const rssCurve: [number, number][] = [[0, rssBaseKb]];
    const every = Math.max(1, Math.floor(count / options.rssSamples));
    const hist = new LatencyHistogram();
    const server = CpuMeter.forPid(target.pid);
    const self = CpuMeter.self();
    server.start();
    self.start();
    const ramp = await openClients(count, options.window, make, (n) => {
      if (n % every === 0) {
        rssCurve.push([n, target.rssKb()]);
        ctx.progress.status(`connect ${ctx.target}: ${n}/${count} connected`);
      }
    });
    const serverCpu = server.stop();
    const generatorCpu = self.stop();
    for (const c of ramp.clients) hist.record(c.handshakeMs);
    ctx.progress.status(`connect ${ctx.target}: holding ${ramp.clients.length} idle connections`);
    await Bun.sleep(options.holdMs);
    const alive = ramp.clients.filter((c) => c.connected).length;
    const rssHeldKb = target.rssKb();
    rssCurve.push([alive, rssHeldKb]);
    await closeClients(ramp.clients);
    return {
      count,
      connected: alive,
      failures: ramp.failures.length + (ramp.clients.length - alive),
      ...(ramp.failures[0] ? { firstFailure: ramp.failures[0] } : {}),
      connectsPerSec: Math.round(ramp.clients.length / (ramp.elapsedMs / 1000)),
      handshake: hist.summary(),
      rssBaseKb,
      rssHeldKb,
      rssPerConnKb: alive > 0 ? round((rssHeldKb - rssBaseKb) / alive, 2) : 0,
      serverCpu: round(serverCpu, 1),
      generatorCpu: round(generatorCpu, 1),
      serverWait: round(server.waitPercent, 1),
      generatorWait: round(self.waitPercent, 1),
      serverUsPerConnect: ramp.clients.length ? round((server.cpuSeconds * 1e6) / ramp.clients.length, 1) : 0,
      rssCurve,
    };
  } finally {
    await target.stop();
  }
}

export async function runConnect(ctx: RunContext, options: ConnectOptions): Promise<ScenarioResult> {
  const metrics: Metric[] = [];
  const samples: Sample[] = [];
  for (const count of options.counts) {
    // 10k ramps are long: repeat only the small ones.
    const reps = count > 2_000 ? 1 : ctx.reps;
    const runs: ConnectRun[] = [];
    for (let rep = 0; rep < reps; rep++) {
      const run = await runOnce(ctx, count, options);
      runs.push(run);
      samples.push({ scenario: "connect", kind: "run", target: ctx.target, rep, ...run });
      ctx.progress.line(
        `  connect ${ctx.target} ${count} rep ${rep + 1}: ${run.connectsPerSec} connects/s, handshake p50 ` +
          `${run.handshake.p50} p99 ${run.handshake.p99} ms, ${run.rssPerConnKb} KiB RSS/conn ` +
          `(${Math.round(run.rssBaseKb / 1024)}→${Math.round(run.rssHeldKb / 1024)} MiB), server CPU ` +
          `${run.serverCpu}%, generator CPU ${run.generatorCpu}%, CPU wait ${run.serverWait}/${run.generatorWait}%, ${run.serverUsPerConnect} µs/connect${run.failures ? `, ${run.failures} FAILED: ${run.firstFailure}` : ""}`,
      );
    }
    const rate = spread(runs.map((r) => r.connectsPerSec));
    const p99 = spread(runs.map((r) => r.handshake.p99));
    const us = spread(runs.map((r) => r.serverUsPerConnect));
    const mem = spread(runs.map((r) => r.rssPerConnKb));
    const failures = runs.reduce((n, r) => n + r.failures, 0);
    const note = failures ? { note: `${failures} connections failed or dropped` } : {};
    const n = count.toLocaleString("en");
    metrics.push(
      {
        scenario: "connect",
        key: `connect.${count}.rate`,
        label: `connect ${n}: connects/s`,
        unit: "conn/s",
        better: "higher",
        value: rate.median,
        range: [rate.min, rate.max],
        generatorBound: runs.some((r) => r.generatorCpu > GENERATOR_SATURATED_PERCENT),
        noisy: runs.some((r) => Math.max(r.serverWait, r.generatorWait) > NOISY_WAIT_PERCENT),
        ...note,
      },
      {
        scenario: "connect",
        key: `connect.${count}.us`,
        label: `connect ${n}: server CPU per connect`,
        unit: "µs",
        better: "lower",
        value: us.median,
        range: [us.min, us.max],
      },
      {
        scenario: "connect",
        key: `connect.${count}.p99`,
        label: `connect ${n}: handshake p99`,
        unit: "ms",
        better: "lower",
        value: p99.median,
        range: [p99.min, p99.max],
      },
      {
        scenario: "connect",
        key: `connect.${count}.rss`,
        label: `connect ${n}: server RSS per idle connection`,
        unit: "KiB",
        better: "lower",
        value: mem.median,
        range: [mem.min, mem.max],
        ...note,
      },
    );
  }
  return { metrics, samples };
}
