/**
 * echo: C websocket clients each keep k acknowledged round trips in flight (`echo(payload, ack)`,
 * closed loop), for k = 1 and k = 8. Figures: acks/s and the round-trip time percentiles.
 */
import type { LoadClient } from "../clients/client.ts";
import { WsClient } from "../clients/ws.ts";
import { CpuMeter } from "../proc.ts";
import { LatencyHistogram, round, spread } from "../stats.ts";
import { closeClients, openClients, waitUntil } from "./pool.ts";
import {
  GENERATOR_SATURATED_PERCENT,
  type Metric,
  NOISY_WAIT_PERCENT,
  type RunContext,
  type Sample,
  type ScenarioResult,
} from "./types.ts";

export interface EchoOptions {
  /** Concurrent clients. Default 50 (20 in quick mode). */
  clients: number;
  /** Round trips in flight per client, one run each. Default [1, 8]. */
  inFlight: number[];
  /** Payload string length in bytes. Default 64. */
  payloadBytes: number;
  /** Unmeasured warm-up per run, ms. Default 1,000 (500 quick). */
  warmupMs: number;
  /** Measured window per run, ms. Default 3,000 (1,500 quick). */
  measureMs: number;
}

export function echoDefaults(quick: boolean): EchoOptions {
  return {
    clients: quick ? 20 : 50,
    inFlight: [1, 8],
    payloadBytes: 64,
    warmupMs: quick ? 500 : 1_000,
    measureMs: quick ? 1_500 : 3_000,
  };
}

/** How long outstanding acks get after the window closes before they count as lost. */
const ACK_DRAIN_MS = 3_000;

interface EchoRun {
  acksPerSec: number;
  lostAcks: number;
  latency: ReturnType<LatencyHistogram["summary"]>;
  serverCpu: number;
  generatorCpu: number;
  /** Percent of the window the server / generator waited for a CPU (other work on the machine). */
  serverWait: number;
  generatorWait: number;
  /** Server CPU per acknowledged round trip, µs (less distorted by other work than acks/s). */
  serverUsPerAck: number;
}

async function runOnce(
  clients: LoadClient[],
  k: number,
  options: EchoOptions,
  serverPid: number,
): Promise<EchoRun> {
  const body = JSON.stringify(["echo", "x".repeat(options.payloadBytes)]);
  const hist = new LatencyHistogram();
  let running = true;
  let measuring = false;
  let measuredAcks = 0;
  let sent = 0;
  let acked = 0;

  const fire = (client: LoadClient) => {
    const sentAt = performance.now();
    sent++;
    client.sendEncodedWithAck(body, () => {
      acked++;
      if (measuring) {
        measuredAcks++;
        hist.record(performance.now() - sentAt);
      }
      if (running) fire(client);
    });
  };
  for (const client of clients) for (let i = 0; i < k; i++) fire(client);

  await Bun.sleep(options.warmupMs);
  const server = CpuMeter.forPid(serverPid);
  const self = CpuMeter.self();
  server.start();
  self.start();
  measuring = true;
  const t0 = performance.now();
  await Bun.sleep(options.measureMs);
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  const serverCpu = server.stop();
  const generatorCpu = self.stop();
  running = false;
  await waitUntil(() => acked === sent, ACK_DRAIN_MS);
  return {
    acksPerSec: measuredAcks / elapsed,
    lostAcks: sent - acked,
    latency: hist.summary(),
    serverCpu,
    generatorCpu,
    serverWait: round(server.waitPercent, 1),
    generatorWait: round(self.waitPercent, 1),
    serverUsPerAck: measuredAcks > 0 ? round((server.cpuSeconds * 1e6) / measuredAcks, 2) : 0,
  };
}

export async function runEcho(ctx: RunContext, options: EchoOptions): Promise<ScenarioResult> {
  const metrics: Metric[] = [];
  const samples: Sample[] = [];
  const target = await ctx.start();
  try {
    const opened = await openClients(options.clients, 50, () => new WsClient({ baseUrl: target.baseUrl }));
    if (opened.failures.length > 0)
      throw new Error(`echo: ${opened.failures.length} clients failed: ${opened.failures[0]}`);
    for (const k of options.inFlight) {
      const runs: EchoRun[] = [];
      for (let rep = 0; rep < ctx.reps; rep++) {
        ctx.progress.status(
          `echo ${ctx.target}: ${options.clients} clients × ${k} in flight, rep ${rep + 1}/${ctx.reps}`,
        );
        const run = await runOnce(opened.clients, k, options, target.pid);
        runs.push(run);
        samples.push({ scenario: "echo", kind: "run", target: ctx.target, inFlight: k, rep, ...run });
        ctx.progress.line(
          `  echo ${ctx.target} k=${k} rep ${rep + 1}: ${Math.round(run.acksPerSec)} acks/s, ` +
            `p50 ${run.latency.p50} ms p99 ${run.latency.p99} ms, server CPU ${Math.round(run.serverCpu)}%, ` +
            `generator CPU ${Math.round(run.generatorCpu)}%, CPU wait ${run.serverWait}/${run.generatorWait}%, ${run.serverUsPerAck} µs/ack${run.lostAcks ? `, LOST ${run.lostAcks}` : ""}`,
        );
      }
      const bound = runs.some((r) => r.generatorCpu > GENERATOR_SATURATED_PERCENT);
      const noisy = runs.some((r) => Math.max(r.serverWait, r.generatorWait) > NOISY_WAIT_PERCENT);
      const lost = runs.reduce((n, r) => n + r.lostAcks, 0);
      const acks = spread(runs.map((r) => r.acksPerSec));
      const p99 = spread(runs.map((r) => r.latency.p99));
      const p50 = spread(runs.map((r) => r.latency.p50));
      const us = spread(runs.map((r) => r.serverUsPerAck));
      const base = { scenario: "echo" as const };
      metrics.push(
        {
          ...base,
          key: `echo.k${k}.acks`,
          label: `echo ${options.clients}×${k} in flight: acks/s`,
          unit: "acks/s",
          better: "higher",
          value: Math.round(acks.median),
          range: [Math.round(acks.min), Math.round(acks.max)],
          generatorBound: bound,
          noisy,
          ...(lost ? { note: `${lost} acks lost` } : {}),
        },
        {
          ...base,
          key: `echo.k${k}.us`,
          label: `echo ${options.clients}×${k}: server CPU per ack`,
          unit: "µs",
          better: "lower",
          value: us.median,
          range: [us.min, us.max],
          noisy,
        },
        {
          ...base,
          key: `echo.k${k}.p50`,
          label: `echo ${options.clients}×${k}: RTT p50`,
          unit: "ms",
          better: "lower",
          value: round(p50.median),
          range: [p50.min, p50.max],
        },
        {
          ...base,
          key: `echo.k${k}.p99`,
          label: `echo ${options.clients}×${k}: RTT p99`,
          unit: "ms",
          better: "lower",
          value: round(p99.median),
          range: [p99.min, p99.max],
        },
      );
    }
    await closeClients(opened.clients);
  } finally {
    await target.stop();
  }
  return { metrics, samples };
}
