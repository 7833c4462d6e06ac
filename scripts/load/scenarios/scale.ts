/**
 * scale: the scaling curve of one server process at 1k, 10k, 50k and 100k websocket connections.
 * For each count, on a fresh server: ramp the clients (connects/s, server CPU per connect), hold
 * them idle (RSS per connection, RSS before the ramp subtracted; see IDLE_RSS_HOLD_MS), make every one of them join one
 * room, then broadcast to that room from a client that is not a member, one broadcast at a time,
 * and time each broadcast from its send to its LAST receiver (p99 over the broadcasts; with 10
 * broadcasts that is the slowest one).
 *
 * One client address and one server address:port give at most one connection per ephemeral port
 * (net.ipv4.ip_local_port_range, 28k by default), and connecting slows down well before the range is
 * full. So the clients spread over several loopback destination addresses, 5,000 each (127.0.0.1,
 * 127.0.0.2, ...: all of 127.0.0.0/8 is loopback), and the server then listens on 0.0.0.0 (HOST) for
 * that run. Both processes need a descriptor per
 * connection: the runner raises its own limit and the server's with prlimit (FD_LIMIT).
 *
 * The generator receives every delivery of a broadcast on one core (~15 µs each in kernel and
 * user space), so at 100k the last receiver's latency is bounded by the generator's core: the
 * generator's CPU during the broadcasts is reported, above 90 % the figure is marked †.
 */
import { readFileSync } from "node:fs";
import { WsClient } from "../clients/ws.ts";
import { CpuMeter, readFdLimit } from "../proc.ts";
import { LatencyHistogram, type LatencySummary, round } from "../stats.ts";
import { closeClients, openClients, waitUntil } from "./pool.ts";
import { readDecimal } from "./rig.ts";
import {
  GENERATOR_SATURATED_PERCENT,
  IDLE_RSS_HOLD_MS,
  type Metric,
  NOISY_WAIT_PERCENT,
  type RunContext,
  type Sample,
  type ScenarioResult,
} from "./types.ts";

export interface ScaleOptions {
  /** Connection counts, one fresh server each. Default [1k, 10k, 50k, 100k] ([1k, 5k] quick). */
  counts: number[];
  /** Handshakes in flight during the ramp (and joins in flight after it). Default 200. */
  window: number;
  /**
   * Idle hold before the RSS per idle connection is read, ms. Default 15,000 (2,000 quick): see
   * IDLE_RSS_HOLD_MS. The RSS is also read BURST_READ_MS after the ramp (or at the end of a shorter hold).
   */
  holdMs: number;
  /** Broadcasts to all, one at a time. Default 10 (3 quick). */
  broadcasts: number;
  /** Payload string length, bytes. Default 64. */
  payloadBytes: number;
  /**
   * Connections per loopback destination address. Default 5,000 (or 90 % of a smaller ephemeral port
   * range): the kernel's search for a free ephemeral port slows down as a range fills (19k clients on
   * one address connected 8× slower than over two, for every server, the floor included).
   */
  perAddress: number;
  /** How long one broadcast may take to reach everyone before the missing count as lost. Default 30 s. */
  broadcastTimeoutMs: number;
}

/** Ephemeral ports one client address can use towards one server address:port. */
export function ephemeralPortCount(): number {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    return Number(high) - Number(low) + 1;
  } catch {
    return 28_232;
  }
}

/** When the RSS right after the ramp is read (the burst's garbage still counted), ms. */
const BURST_READ_MS = 5_000;

/** Default connections per loopback address (see ScaleOptions.perAddress). */
const PER_ADDRESS = 5_000;

export function scaleDefaults(quick: boolean): ScaleOptions {
  return {
    counts: quick ? [1_000, 5_000] : [1_000, 10_000, 50_000, 100_000],
    window: 200,
    holdMs: quick ? 2_000 : IDLE_RSS_HOLD_MS,
    broadcasts: quick ? 3 : 10,
    payloadBytes: 64,
    perAddress: Math.min(PER_ADDRESS, Math.floor(ephemeralPortCount() * 0.9)),
    broadcastTimeoutMs: 30_000,
  };
}

/** Descriptors beyond one per connection: the publisher, warm-up stragglers, runtime files, slack. */
const FD_SLACK = 500;

/** Loopback destination addresses needed for `count` connections, `perAddress` each. */
export function loopbackAddresses(count: number, perAddress: number): string[] {
  const n = Math.max(1, Math.ceil(count / perAddress));
  if (n > 254) throw new Error(`${count} connections need more than 254 loopback addresses`);
  return Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}`);
}

/**
 * Why `count` connections cannot run with these open-file limits (one descriptor per connection on
 * each side, plus slack), or null when they can.
 */
export function descriptorShortfall(count: number, limits: Record<string, number>): string | null {
  const needed = count + FD_SLACK;
  const short = Object.entries(limits).filter(([, limit]) => limit < needed);
  if (short.length === 0) return null;
  return (
    `not run: ${count.toLocaleString("en")} connections need ${needed.toLocaleString("en")} open files on each ` +
    `side; the limit is ${short.map(([who, l]) => `${l.toLocaleString("en")} (${who})`).join(", ")} and could ` +
    "not be raised (prlimit needs root, and some sandboxes refuse it even then)"
  );
}

/** The room every client joins, and the offset of the broadcast number in `42["m",<n>,...`. */
const ROOM = "scale-all";
const STEP_OFFSET = '42["m",'.length;
const COMMA = 44;
const DIGIT_0 = 48;
/** Connections opened and closed before the baseline RSS (JIT, first allocations). */
const WARMUP_CONNECTIONS = 200;
const SETTLE_MS = 500;
/** Pause between broadcasts so one's tail never overlaps the next. */
const BETWEEN_BROADCASTS_MS = 200;

interface BroadcastResult {
  /** Send → last receiver, ms. */
  lastMs: number;
  received: number;
}

interface ScaleRun {
  count: number;
  addresses: number;
  connected: number;
  failures: number;
  firstFailure?: string;
  connectsPerSec: number;
  serverUsPerConnect: number;
  handshake: LatencySummary;
  rssBaseKb: number;
  rssHeldKb: number;
  rssPerConnKb: number;
  /** RSS per connection BURST_READ_MS after the ramp (its garbage included). */
  rssBurstPerConnKb: number;
  /** Per-delivery latency over all broadcasts (send → each receiver). */
  delivery: LatencySummary;
  /** Send → last receiver of each broadcast, ms. */
  lastReceiverMs: number[];
  lastReceiverP99: number;
  lost: number;
  generatorCpu: number;
  serverCpu: number;
  serverWait: number;
  generatorWait: number;
}

/** The p-th percentile of a few values (nearest rank). */
function nearestRank(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Run `work` over `items` with at most `window` in flight. */
async function inWindows<T>(items: readonly T[], window: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(window, items.length) }, lane));
}

async function runOnce(ctx: RunContext, count: number, options: ScaleOptions): Promise<ScaleRun> {
  const addresses = loopbackAddresses(count, options.perAddress);
  // More than one destination address: the server must accept on all of them.
  const target = await ctx.start(addresses.length > 1 ? { HOST: "0.0.0.0" } : {});
  // Each side needs a descriptor per connection; fail clearly instead of with N connect errors.
  const shortfall = descriptorShortfall(count, {
    generator: readFdLimit(process.pid),
    server: readFdLimit(target.pid),
  });
  if (shortfall) {
    await target.stop();
    throw new Error(shortfall);
  }
  const urls = addresses.map((a) => `http://${a}:${target.port}`);
  const clients: WsClient[] = [];
  let publisher: WsClient | null = null;
  try {
    const make = (i: number) => new WsClient({ baseUrl: urls[i % urls.length]!, connectTimeoutMs: 60_000 });
    const warm = await openClients(WARMUP_CONNECTIONS, options.window, make);
    await closeClients(warm.clients, SETTLE_MS);
    const rssBaseKb = target.rssKb();
    const connectMeter = CpuMeter.forPid(target.pid);
    connectMeter.start();
    const every = Math.max(1, Math.floor(count / 20));
    const ramp = await openClients(count, options.window, make, (n) => {
      if (n % every === 0) ctx.progress.status(`scale ${ctx.target}: ${n}/${count} connected`);
    });
    connectMeter.stop();
    clients.push(...(ramp.clients as WsClient[]));
    const handshake = new LatencyHistogram();
    for (const c of clients) handshake.record(c.handshakeMs);
    ctx.progress.status(`scale ${ctx.target}: holding ${clients.length} idle connections`);
    const burstMs = Math.min(BURST_READ_MS, options.holdMs);
    await Bun.sleep(burstMs);
    const rssBurstKb = target.rssKb();
    await Bun.sleep(options.holdMs - burstMs);
    const rssHeldKb = target.rssKb();
    const idle = clients.filter((c) => c.connected).length;

    // Every client joins the one room; acks make sure all are members before the first broadcast.
    let joined = 0;
    await inWindows(clients, options.window, async (c) => {
      await c.emitWithAck("join", [ROOM], 60_000);
      if (++joined % every === 0)
        ctx.progress.status(`scale ${ctx.target}: ${joined}/${clients.length} joined`);
    });

    const state = { step: 0, received: 0, lastAt: 0 };
    const delivery = new LatencyHistogram();
    const onEventBytes = (buf: Buffer, start: number, end: number) => {
      let at = start + STEP_OFFSET;
      let step = 0;
      for (let c = buf[at]!; c !== COMMA && at < end; c = buf[++at]!) step = step * 10 + (c - DIGIT_0);
      if (step !== state.step) return;
      const now = performance.now();
      state.received++;
      state.lastAt = now;
      delivery.record(now - readDecimal(buf, at + 1, end));
    };
    for (const c of clients) c.onEventBytes = onEventBytes;
    const pub = await openClients(1, 1, () => new WsClient({ baseUrl: urls[0]! }));
    if (!pub.clients[0]) throw new Error(`publisher failed to connect: ${pub.failures[0]}`);
    publisher = pub.clients[0] as WsClient;

    const pad = "x".repeat(options.payloadBytes);
    const broadcasts: BroadcastResult[] = [];
    const server = CpuMeter.forPid(target.pid);
    const self = CpuMeter.self();
    let busySeconds = 0;
    let serverSeconds = 0;
    let waitServer = 0;
    let waitGenerator = 0;
    for (let b = 1; b <= options.broadcasts; b++) {
      ctx.progress.status(`scale ${ctx.target}: broadcast ${b}/${options.broadcasts} to ${clients.length}`);
      state.step = b;
      state.received = 0;
      server.start();
      self.start();
      const sentAt = performance.now();
      publisher.send(`42["pub","${ROOM}",${b},${sentAt.toFixed(3)},"${pad}"]`);
      await waitUntil(() => state.received >= clients.length, options.broadcastTimeoutMs, 2);
      server.stop();
      self.stop();
      busySeconds += self.cpuSeconds;
      serverSeconds += server.cpuSeconds;
      waitServer = Math.max(waitServer, server.waitPercent);
      waitGenerator = Math.max(waitGenerator, self.waitPercent);
      broadcasts.push({
        lastMs: state.received > 0 ? state.lastAt - sentAt : Number.NaN,
        received: state.received,
      });
      await Bun.sleep(BETWEEN_BROADCASTS_MS);
    }
    const lastReceiverMs = broadcasts.map((x) => round(x.lastMs, 2));
    const broadcastWallSeconds =
      broadcasts.reduce((s, x) => s + (Number.isFinite(x.lastMs) ? x.lastMs : 0), 0) / 1000;
    const perCent = (seconds: number) =>
      broadcastWallSeconds > 0 ? round((seconds / broadcastWallSeconds) * 100, 1) : 0;
    return {
      count,
      addresses: addresses.length,
      connected: idle,
      failures: ramp.failures.length + (clients.length - idle),
      ...(ramp.failures[0] ? { firstFailure: ramp.failures[0] } : {}),
      connectsPerSec: Math.round(clients.length / (ramp.elapsedMs / 1000)),
      serverUsPerConnect: clients.length ? round((connectMeter.cpuSeconds * 1e6) / clients.length, 1) : 0,
      handshake: handshake.summary(),
      rssBaseKb,
      rssHeldKb,
      rssPerConnKb: idle > 0 ? round((rssHeldKb - rssBaseKb) / idle, 2) : 0,
      rssBurstPerConnKb: idle > 0 ? round((rssBurstKb - rssBaseKb) / idle, 2) : 0,
      delivery: delivery.summary(),
      lastReceiverMs,
      lastReceiverP99: round(nearestRank(lastReceiverMs.filter(Number.isFinite), 99), 2),
      lost: broadcasts.reduce((s, x) => s + (clients.length - x.received), 0),
      // CPU while a broadcast was travelling (send → last receiver), percent of one core.
      generatorCpu: Math.min(100, perCent(busySeconds)),
      serverCpu: Math.min(100, perCent(serverSeconds)),
      serverWait: round(waitServer, 1),
      generatorWait: round(waitGenerator, 1),
    };
  } finally {
    for (const c of clients) c.onEventBytes = null;
    await closeClients(publisher ? [...clients, publisher] : clients, 500);
    await target.stop();
  }
}

export async function runScale(ctx: RunContext, options: ScaleOptions): Promise<ScenarioResult> {
  const metrics: Metric[] = [];
  const samples: Sample[] = [];
  for (const count of options.counts) {
    let run: ScaleRun;
    try {
      run = await runOnce(ctx, count, options);
    } catch (err) {
      // One count that cannot run (descriptor limits, a server giving up) must not lose the others.
      const message = err instanceof Error ? err.message : String(err);
      ctx.progress.line(`  ✗ scale ${ctx.target} ${count}: ${message}`);
      metrics.push({
        scenario: "scale",
        key: `scale.${count}.rss`,
        label: `scale ${count.toLocaleString("en")}: server RSS per idle connection`,
        unit: "KiB",
        better: "lower",
        value: Number.NaN,
        note: message,
      });
      continue;
    }
    samples.push({ scenario: "scale", kind: "run", target: ctx.target, ...run });
    ctx.progress.line(
      `  scale ${ctx.target} ${count} over ${run.addresses} address(es): ${run.connectsPerSec} connects/s ` +
        `(${run.serverUsPerConnect} µs/connect), ${run.rssPerConnKb} KiB RSS/conn after ${options.holdMs / 1000} s idle ` +
        `(${Math.round(run.rssBaseKb / 1024)}→${Math.round(run.rssHeldKb / 1024)} MiB; ${run.rssBurstPerConnKb} KiB ` +
        `${Math.min(BURST_READ_MS, options.holdMs) / 1000} s after the ramp), broadcast to all: ` +
        `last receiver ${run.lastReceiverMs.join("/")} ms, delivery p50 ${run.delivery.p50} ms, ` +
        `generator CPU ${run.generatorCpu}%, CPU wait ${run.serverWait}/${run.generatorWait}%` +
        `${run.failures || run.lost ? `, ${run.failures} connections FAILED (${run.firstFailure ?? "dropped"}), ${run.lost} deliveries lost` : ""}`,
    );
    const noisy = Math.max(run.serverWait, run.generatorWait) > NOISY_WAIT_PERCENT;
    const trouble = [
      run.failures ? `${run.failures} of ${count} connections failed or dropped` : "",
      run.lost ? `${run.lost} deliveries lost` : "",
    ].filter(Boolean);
    const note = trouble.length ? { note: trouble.join(", ") } : {};
    const n = count.toLocaleString("en");
    metrics.push(
      {
        scenario: "scale",
        key: `scale.${count}.rss`,
        label: `scale ${n}: server RSS per idle connection`,
        unit: "KiB",
        better: "lower",
        value: run.rssPerConnKb,
        ...note,
      },
      {
        scenario: "scale",
        key: `scale.${count}.rss-burst`,
        label: `scale ${n}: server RSS per connection ${Math.min(BURST_READ_MS, options.holdMs) / 1000} s after the ramp (its garbage included)`,
        unit: "KiB",
        better: "lower",
        value: run.rssBurstPerConnKb,
        ...note,
      },
      {
        scenario: "scale",
        key: `scale.${count}.rate`,
        label: `scale ${n}: connects/s`,
        unit: "conn/s",
        better: "higher",
        value: run.connectsPerSec,
        noisy,
      },
      {
        scenario: "scale",
        key: `scale.${count}.us`,
        label: `scale ${n}: server CPU per connect`,
        unit: "µs",
        better: "lower",
        value: run.serverUsPerConnect,
      },
      {
        scenario: "scale",
        key: `scale.${count}.last`,
        label: `scale ${n}: broadcast to all, p99 to the last receiver (${run.lastReceiverMs.length} broadcasts)`,
        unit: "ms",
        better: "lower",
        value: run.lastReceiverP99,
        generatorBound: run.generatorCpu > GENERATOR_SATURATED_PERCENT,
        noisy,
        ...note,
      },
    );
  }
  return { metrics, samples };
}
