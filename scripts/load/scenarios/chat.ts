/**
 * chat: the product path on the real backend. Agents (the demo admin and agent) POST messages to
 * `/api/v1/conversations/:id/messages` open loop; each is persisted, then `message:new` goes to
 * the conversation's room, where W websocket watchers (joined with `join_conversation`) receive
 * it. Latency runs from the intended POST time to receipt; the message text carries the step and
 * that time. Run on PGlite (in memory) and on PostgreSQL. The sandbox channel also emits three
 * `message:status` events per message: they reach the watchers too, as in production.
 */
import { WsClient } from "../clients/ws.ts";
import { CpuMeter } from "../proc.ts";
import { LatencyHistogram, type LatencySummary, round, spread } from "../stats.ts";
import { CHAT_COMMAND, type RunningTarget, startTarget } from "../target.ts";
import { closeClients, openClients, waitUntil } from "./pool.ts";
import { HALF_ROUNDING_MS, readDecimal } from "./rig.ts";
import {
  type Metric,
  NOISY_WAIT_PERCENT,
  type RunContext,
  type Sample,
  type ScenarioResult,
} from "./types.ts";

export type ChatDatabase = "pglite" | "postgres";

export interface ChatOptions {
  databases: ChatDatabase[];
  /** Core the chat server is pinned to (null: unpinned). */
  core: number | null;
  /** CPU-profile the chat server into this folder. */
  profileDir?: string;
  /**
   * Count the server's PostgreSQL statements (BEGIN/COMMIT included) of each step, warm-up included,
   * once its messages' outbox sends and status ticks are done, per message stored. postgres.js keeps
   * a stack per query while counting: CPU figures of a counting run are a little high, so compare
   * CPU from runs without it.
   */
  countQueries?: boolean;
  /** Watchers of the conversation. Default 100. */
  watchers: number;
  /** Offered messages/s of the fixed-rate figure. Default 200. */
  messagesPerSec: number;
  /**
   * How many doublings of the fixed rate are tried after it passes, in order, until p99 ≥ the limit
   * or a loss. When the fixed rate already fails, halves of it (down to an eighth) are tried instead.
   */
  searchDoublings: number;
  /** p99 limit from POST to receipt, ms. Default 100. */
  p99LimitMs: number;
  warmupMs: number;
  measureMs: number;
}

export function chatDefaults(quick: boolean): Omit<ChatOptions, "databases" | "core" | "countQueries"> {
  return {
    watchers: 100,
    messagesPerSec: 200,
    searchDoublings: quick ? 1 : 3,
    p99LimitMs: 100,
    warmupMs: quick ? 1_000 : 2_000,
    measureMs: quick ? 2_000 : 4_000,
  };
}

const MARKER = Buffer.from("bench:");
/** `42["message:new"` — byte 11 tells `message:new` (n) from `message:status` (s). */
const NEW_OFFSET = '42["message:'.length;
const CH_N = "n".charCodeAt(0);
const COLON = ":".charCodeAt(0);
const DRAIN_MS = 5_000;
/** POSTs still unanswered this long after the last one was due are aborted and count as errors. */
const POST_DRAIN_MS = 10_000;
/** A fixed-rate repetition this far over the p99 limit means the server is swamped: stop repeating. */
const SWAMPED_FACTOR = 10;
const CHAT_READY_TIMEOUT_MS = 120_000;
/**
 * Between steps the server must have worked off what an overloaded step left behind (aborted
 * POSTs keep running server-side): wait until its CPU stays under this share of a core.
 */
const IDLE_PERCENT = 15;
const IDLE_SAMPLE_MS = 500;
const IDLE_TIMEOUT_MS = 60_000;
const TICK_MS = 1;
/** After the last delivery, wait this long for the last messages' status ticks (whole-step figures). */
const STATUS_SETTLE_MS = 2_000;

interface ChatStep {
  database: ChatDatabase;
  messagesPerSec: number;
  posted: number;
  postErrors: number;
  firstPostError?: string;
  expected: number;
  received: number;
  lost: number;
  latency: LatencySummary;
  /** Time from the intended POST to its HTTP 201. */
  post: LatencySummary;
  serverCpu: number;
  generatorCpu: number;
  serverWait: number;
  generatorWait: number;
  /** PostgreSQL statements per stored message over the whole step (with countQueries only). */
  queriesPerMessage?: number;
  /** Server CPU ms per stored message over the whole step, its settling included. */
  stepCpuMsPerMessage?: number;
}

/** The chat app's statement counter (BENCH_COUNT_QUERIES), or null when it does not count. */
async function readQueryCount(url: string | undefined): Promise<number | null> {
  if (!url) return null;
  const res = await fetch(url);
  return Number(await res.text());
}

async function login(baseUrl: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!res.ok || !body.access_token)
    throw new Error(`login ${email}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

class ChatRig {
  private watchers: WsClient[] = [];
  private tokens: string[] = [];
  private step = 0;
  private received = 0;
  private measureFrom = 0;
  private measureTo = 0;
  private hist = new LatencyHistogram();

  constructor(
    private readonly target: RunningTarget,
    private readonly options: ChatOptions,
  ) {}

  private get conversationId(): string {
    return String(this.target.ready.conversationId);
  }

  async open(ctx: RunContext): Promise<void> {
    const { baseUrl, ready } = this.target;
    const password = String(ready.password);
    this.tokens = [
      await login(baseUrl, String(ready.admin), password),
      await login(baseUrl, String(ready.agent), password),
    ];
    const auth = { token: this.tokens[0] };
    const opened = await openClients(this.options.watchers, 50, () => new WsClient({ baseUrl, auth }));
    if (opened.failures.length)
      throw new Error(`${opened.failures.length} watchers failed: ${opened.failures[0]}`);
    this.watchers = opened.clients as WsClient[];
    const onEventBytes = (buf: Buffer, start: number, end: number) => {
      if (buf[start + NEW_OFFSET] !== CH_N) return;
      const at = buf.indexOf(MARKER, start);
      if (at < 0 || at >= end) return;
      let i = at + MARKER.length;
      let step = 0;
      for (let c = buf[i]!; c !== COLON && i < end; c = buf[++i]!) step = step * 10 + (c - 48);
      if (step !== this.step) return;
      this.received++;
      const t = readDecimal(buf, i + 1, end);
      if (t >= this.measureFrom && t < this.measureTo) this.hist.record(performance.now() - t);
    };
    for (const w of this.watchers) w.onEventBytes = onEventBytes;
    await Promise.all(
      this.watchers.map(async (w) => {
        const [answer] = (await w.emitWithAck(
          "join_conversation",
          [{ conversation_id: this.conversationId }],
          15_000,
        )) as [{ ok?: boolean; message?: string }];
        if (!answer?.ok) throw new Error(`join_conversation refused: ${JSON.stringify(answer)}`);
      }),
    );
    ctx.progress.status(`chat: ${this.watchers.length} watchers joined`);
  }

  /** Wait (bounded) until the server is idle, so a step does not inherit the previous one's backlog. */
  private async waitIdle(): Promise<void> {
    const meter = CpuMeter.forPid(this.target.pid);
    const deadline = performance.now() + IDLE_TIMEOUT_MS;
    while (performance.now() < deadline) {
      meter.start();
      await Bun.sleep(IDLE_SAMPLE_MS);
      if (meter.stop() < IDLE_PERCENT) return;
    }
  }

  async run(database: ChatDatabase, messagesPerSec: number): Promise<ChatStep> {
    await this.waitIdle();
    const { warmupMs, measureMs } = this.options;
    this.step++;
    this.received = 0;
    this.hist = new LatencyHistogram();
    const postHist = new LatencyHistogram();
    const url = `${this.target.baseUrl}/api/v1/conversations/${this.conversationId}/messages`;
    const headers = this.tokens.map((t) => ({
      authorization: `Bearer ${t}`,
      "content-type": "application/json",
    }));
    const intervalMs = 1000 / messagesPerSec;
    const total = Math.max(1, Math.floor(((warmupMs + measureMs) / 1000) * messagesPerSec));
    const t0 = performance.now() + 5;
    // Due times travel to 3 decimals: shift the edges by half that rounding (see rig.ts).
    this.measureFrom = t0 + warmupMs - HALF_ROUNDING_MS;
    this.measureTo = this.measureFrom + measureMs;
    let posted = 0;
    let postErrors = 0;
    let firstPostError: string | undefined;
    const inFlight: Promise<void>[] = [];
    const abort = new AbortController();
    const server = CpuMeter.forPid(this.target.pid);
    const self = CpuMeter.self();
    let metering = false;
    const queriesUrl = this.target.ready.queriesUrl as string | undefined;
    const queriesFrom = await readQueryCount(queriesUrl);
    const wholeStep = CpuMeter.forPid(this.target.pid);
    wholeStep.start();
    let sent = 0;
    const step = this.step;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        if (!metering && now >= this.measureFrom) {
          metering = true;
          server.start();
          self.start();
        }
        while (sent < total && t0 + sent * intervalMs <= now) {
          const due = t0 + sent * intervalMs;
          // Every POST carries an idempotency key, as the web client's do: its claim is on the path.
          const body = JSON.stringify({
            client_message_id: `bench-${step}-${sent}`,
            content: { text: `bench:${step}:${due.toFixed(3)}` },
          });
          const request = fetch(url, {
            method: "POST",
            headers: headers[sent % headers.length],
            body,
            signal: abort.signal,
          }).then(
            async (res) => {
              await res.arrayBuffer();
              if (res.status === 201) {
                posted++;
                if (due >= this.measureFrom && due < this.measureTo) postHist.record(performance.now() - due);
              } else {
                postErrors++;
                firstPostError ??= `HTTP ${res.status}`;
              }
            },
            (err: Error) => {
              postErrors++;
              firstPostError ??= err.message;
            },
          );
          inFlight.push(request);
          sent++;
        }
        if (sent >= total) {
          clearInterval(timer);
          resolve();
        }
      }, TICK_MS);
    });
    const serverCpu = metering ? server.stop() : 0;
    const generatorCpu = metering ? self.stop() : 0;
    const abortTimer = setTimeout(() => abort.abort(), POST_DRAIN_MS);
    await Promise.all(inFlight);
    clearTimeout(abortTimer);
    const expected = posted * this.watchers.length;
    await waitUntil(() => this.received >= expected, DRAIN_MS);
    // The whole step's CPU and statements ÷ its stored messages, once their outbox sends and the
    // sandbox's status ticks (300 and 600 ms after "sent") are done: figures that hold when the
    // server falls behind (the window's CPU ÷ the offered rate then counts work not yet done).
    await Bun.sleep(STATUS_SETTLE_MS);
    wholeStep.stop();
    const stepCpuMsPerMessage = posted > 0 ? round((wholeStep.cpuSeconds * 1000) / posted, 2) : undefined;
    let queriesPerMessage: number | undefined;
    if (queriesFrom !== null) {
      const queriesTo = await readQueryCount(queriesUrl);
      if (queriesTo !== null && posted > 0) queriesPerMessage = round((queriesTo - queriesFrom) / posted, 2);
    }
    return {
      database,
      messagesPerSec,
      posted,
      postErrors,
      ...(firstPostError ? { firstPostError } : {}),
      expected,
      received: this.received,
      lost: Math.max(0, expected - this.received),
      latency: this.hist.summary(),
      post: postHist.summary(),
      serverCpu: round(serverCpu, 1),
      generatorCpu: round(generatorCpu, 1),
      serverWait: round(server.waitPercent, 1),
      generatorWait: round(self.waitPercent, 1),
      ...(queriesPerMessage !== undefined ? { queriesPerMessage } : {}),
      ...(stepCpuMsPerMessage !== undefined ? { stepCpuMsPerMessage } : {}),
    };
  }

  async close(): Promise<void> {
    await closeClients(this.watchers);
  }
}

const passes = (s: ChatStep, limit: number) =>
  s.lost === 0 && s.postErrors === 0 && s.latency.count > 0 && s.latency.p99 < limit;

function describe(s: ChatStep): string {
  return (
    `${s.database} ${s.messagesPerSec} msg/s: POST→message:new p50 ${s.latency.p50} p99 ${s.latency.p99} max ` +
    `${s.latency.max} ms, POST p99 ${s.post.p99} ms, server CPU ${s.serverCpu}%, generator CPU ${s.generatorCpu}%, ` +
    `CPU wait ${s.serverWait}/${s.generatorWait}%` +
    `${s.stepCpuMsPerMessage !== undefined ? `, whole step ${s.stepCpuMsPerMessage} ms CPU/message` : ""}` +
    `${s.queriesPerMessage !== undefined ? `, ${s.queriesPerMessage} queries/message` : ""}` +
    `${s.lost ? `, LOST ${s.lost}/${s.expected}` : ""}` +
    `${s.postErrors ? `, ${s.postErrors} POST errors (${s.firstPostError})` : ""}`
  );
}

export async function runDatabase(ctx: RunContext, options: ChatOptions, database: ChatDatabase) {
  const target = await startTarget(`chat-${database}`, CHAT_COMMAND, {
    core: options.core,
    env: { BENCH_DB: database, ...(options.countQueries ? { BENCH_COUNT_QUERIES: "1" } : {}) },
    // PGlite compiles its WASM Postgres and migrates at start: slow on one busy core.
    readyTimeoutMs: CHAT_READY_TIMEOUT_MS,
    ...(options.profileDir ? { profileDir: options.profileDir } : {}),
  });
  const rig = new ChatRig(target, options);
  const steps: ChatStep[] = [];
  try {
    await rig.open(ctx);
    ctx.progress.status(`chat ${database}: warm-up`);
    await rig.run(database, Math.min(50, options.messagesPerSec));
    const fixed: ChatStep[] = [];
    for (let rep = 0; rep < ctx.reps; rep++) {
      ctx.progress.status(`chat ${database}: ${options.messagesPerSec} msg/s, rep ${rep + 1}`);
      const s = await rig.run(database, options.messagesPerSec);
      fixed.push(s);
      ctx.progress.line(`  chat ${describe(s)}`);
      if (s.postErrors > 0 || s.latency.p99 > SWAMPED_FACTOR * options.p99LimitMs) {
        ctx.progress.line(
          `  chat ${database}: server swamped at ${options.messagesPerSec} msg/s, no more repetitions`,
        );
        break;
      }
    }
    let best: ChatStep | null = fixed.every((s) => passes(s, options.p99LimitMs)) ? (fixed[0] ?? null) : null;
    // The target rate already fails: halve down to an eighth of it for the sustainable rate.
    for (let rate = options.messagesPerSec / 2; !best && rate >= options.messagesPerSec / 8; rate /= 2) {
      ctx.progress.status(`chat ${database}: offering ${rate} msg/s`);
      const s = await rig.run(database, rate);
      steps.push(s);
      const pass = passes(s, options.p99LimitMs);
      ctx.progress.line(`  chat ${pass ? "pass" : "FAIL"} ${describe(s)}`);
      if (pass) best = s;
    }
    if (best && best.messagesPerSec >= options.messagesPerSec) {
      for (let i = 1, rate = options.messagesPerSec * 2; i <= options.searchDoublings; i++, rate *= 2) {
        ctx.progress.status(`chat ${database}: offering ${rate} msg/s`);
        const s = await rig.run(database, rate);
        steps.push(s);
        const pass = passes(s, options.p99LimitMs);
        ctx.progress.line(`  chat ${pass ? "pass" : "FAIL"} ${describe(s)}`);
        if (!pass) break;
        best = s;
      }
    }
    return { fixed, steps, best };
  } finally {
    await rig.close().catch(() => {});
    await target.stop();
  }
}

/** Server CPU per stored message over whole steps (settling included): holds when the server falls behind. */
function wholeStepMetric(fixed: ChatStep[], shape: string, database: ChatDatabase, noisy: boolean): Metric[] {
  const values = fixed.flatMap((s) => (s.stepCpuMsPerMessage === undefined ? [] : [s.stepCpuMsPerMessage]));
  if (values.length === 0) return [];
  const cpu = spread(values);
  return [
    {
      scenario: "chat",
      key: `chat.${database}.stepCpuPerMessage`,
      label: `${shape}: server CPU per stored message, whole step`,
      unit: "ms",
      better: "lower",
      value: cpu.median,
      range: [cpu.min, cpu.max],
      noisy,
    },
  ];
}

/** Server CPU per message in ms, from its CPU % of one core at a steady `messagesPerSec`. */
export function cpuMsPerMessage(cpuPercent: number, messagesPerSec: number): number {
  return messagesPerSec > 0 ? round((cpuPercent / 100 / messagesPerSec) * 1000, 2) : Number.NaN;
}

export async function runChat(ctx: RunContext, options: ChatOptions): Promise<ScenarioResult> {
  const metrics: Metric[] = [];
  const samples: Sample[] = [];
  for (const database of options.databases) {
    const { fixed, steps, best } = await runDatabase(ctx, options, database);
    for (const [rep, s] of fixed.entries())
      samples.push({ scenario: "chat", kind: "fixed", target: ctx.target, rep, ...s });
    for (const s of steps) samples.push({ scenario: "chat", kind: "step", target: ctx.target, ...s });
    const p50 = spread(fixed.map((s) => s.latency.p50));
    const p99 = spread(fixed.map((s) => s.latency.p99));
    const cpu = spread(fixed.map((s) => s.serverCpu));
    const lost = fixed.reduce((n, s) => n + s.lost + s.postErrors, 0);
    const noisy = fixed.some((s) => Math.max(s.serverWait, s.generatorWait) > NOISY_WAIT_PERCENT);
    const shape = `chat ${database} ${options.watchers} watchers at ${options.messagesPerSec} msg/s`;
    const note = lost ? { note: `${lost} deliveries lost or POSTs refused` } : {};
    metrics.push(
      {
        scenario: "chat",
        key: `chat.${database}.p50`,
        label: `${shape}: POST→message:new p50`,
        unit: "ms",
        better: "lower",
        value: p50.median,
        range: [p50.min, p50.max],
        noisy,
      },
      {
        scenario: "chat",
        key: `chat.${database}.p99`,
        label: `${shape}: POST→message:new p99`,
        unit: "ms",
        better: "lower",
        value: p99.median,
        range: [p99.min, p99.max],
        noisy,
        ...note,
      },
      {
        scenario: "chat",
        key: `chat.${database}.cpu`,
        label: `${shape}: server CPU`,
        unit: "% core",
        better: "lower",
        value: cpu.median,
        range: [cpu.min, cpu.max],
        noisy,
      },
      {
        // In steady state the window holds as many status ticks of earlier messages as it leaves out.
        scenario: "chat",
        key: `chat.${database}.cpuPerMessage`,
        label: `${shape}: server CPU per message`,
        unit: "ms",
        better: "lower",
        value: cpuMsPerMessage(cpu.median, options.messagesPerSec),
        range: [
          cpuMsPerMessage(cpu.min, options.messagesPerSec),
          cpuMsPerMessage(cpu.max, options.messagesPerSec),
        ],
        noisy,
      },
      ...wholeStepMetric(fixed, shape, database, noisy),
      {
        scenario: "chat",
        key: `chat.${database}.capacity`,
        label: `chat ${database}: messages/s with p99 < ${options.p99LimitMs} ms (halving or doubling from ${options.messagesPerSec})`,
        unit: "msg/s",
        better: "higher",
        value: best?.messagesPerSec ?? 0,
        noisy: [...fixed, ...steps].some((s) => Math.max(s.serverWait, s.generatorWait) > NOISY_WAIT_PERCENT),
      },
    );
  }
  return { metrics, samples };
}
