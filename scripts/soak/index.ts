/**
 * Soak: thousands of connections for a bounded time with steady traffic and connect/disconnect
 * churn against the real chat server, sampling its RSS (/proc) and JS heap (after a full GC, from
 * the soak server's admin route). Fails when memory grows after the warm-up beyond the stated
 * bounds, or when sessions, sockets or rooms are left behind once every client has gone.
 *
 *   bun scripts/soak/index.ts                      # 5 minutes, 2000 connections (the documented run)
 *   bun scripts/soak/index.ts --duration 60 --connections 500
 *
 * Writes reports/soak-<time>.md + .svg and reports/soak-latest.md + .svg; exits 1 on FAIL.
 * Uses a fresh database on TEST_POSTGRES_URL when PostgreSQL answers (the embedded PGlite lives in
 * the server's heap and grows with the data, which would read as a leak), else PGlite with a note.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { raiseFdLimit, readRssKb } from "../load/proc.ts";
import { Population } from "./population.ts";
import { renderMarkdown, renderSvg, type Sample, type SoakSummary, type Verdict } from "./report.ts";
import type { MemorySample } from "./server.ts";

const ROOT = join(import.meta.dir, "..", "..");
const REPORTS = join(ROOT, "reports");
const MB = 1024 * 1024;
const FD_LIMIT = 20_000;
const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "300" },
    connections: { type: "string", default: "2000" },
    "polling-share": { type: "string", default: "0.1" },
    "watch-share": { type: "string", default: "0.1" },
    churn: { type: "string", default: "20" },
    "ping-every": { type: "string", default: "5" },
    "messages-per-second": { type: "string", default: "5" },
    warmup: { type: "string" },
    "sample-every": { type: "string", default: "5" },
    "max-rss-growth-mb": { type: "string", default: "48" },
    "max-heap-growth-mb": { type: "string", default: "16" },
    database: { type: "string", default: "auto" },
  },
});
const num = (name: keyof typeof args) => Number(args[name]);
const duration = num("duration");
const warmup = args.warmup ? Number(args.warmup) : Math.max(30, Math.round(duration * 0.25));
const sampleEvery = num("sample-every");
const maxRssGrowth = num("max-rss-growth-mb");
const maxHeapGrowth = num("max-heap-growth-mb");

const log = (line: string) => process.stderr.write(`[soak] ${line}\n`);

async function postgresReachable(): Promise<boolean> {
  const sql = postgres(POSTGRES_URL, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** A fresh PostgreSQL database for the run (dropped at the end), or null for PGlite. */
async function chooseDatabase(): Promise<{ url: string; drop: () => Promise<void> } | null> {
  if (args.database === "pglite") return null;
  if (!(await postgresReachable())) {
    if (args.database === "postgres") throw new Error(`PostgreSQL is not reachable at ${POSTGRES_URL}`);
    log("PostgreSQL not reachable: using the embedded PGlite (its heap grows with the data)");
    return null;
  }
  const name = `soak_${Date.now().toString(36)}`;
  const admin = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end({ timeout: 2 });
    },
  };
}

interface Ready {
  url: string;
  adminUrl: string;
  pid: number;
  token: string;
  conversationId: string;
}

async function startServerProcess(env: Record<string, string>) {
  const proc = Bun.spawn(["bun", join(import.meta.dir, "server.ts")], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = proc.stdout.getReader();
  let buffered = "";
  const deadline = Date.now() + 180_000;
  while (!buffered.includes("\n")) {
    if (Date.now() > deadline) throw new Error("the soak server did not start within 180 s");
    const { done, value } = await reader.read();
    if (done) throw new Error(`the soak server exited before it was ready: ${buffered}`);
    buffered += new TextDecoder().decode(value);
  }
  const ready = JSON.parse(buffered.slice(0, buffered.indexOf("\n"))) as Ready;
  // Keep draining stdout so the child never blocks on a full pipe.
  void (async () => {
    for (;;) if ((await reader.read()).done) return;
  })();
  return { proc, ready };
}

async function memory(adminUrl: string): Promise<MemorySample> {
  const res = await fetch(`${adminUrl}/memory?gc=1`, { signal: AbortSignal.timeout(10_000) });
  return (await res.json()) as MemorySample;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
};

function judge(samples: Sample[], after: MemorySample, totals: Record<string, number>): Verdict {
  const lines: string[] = [];
  const check = (ok: boolean, text: string) => {
    lines.push(`${ok ? "✓" : "✗"} ${text}`);
    return ok;
  };
  const steady = samples.filter((s) => s.t >= warmup);
  const window = Math.max(3, Math.round(steady.length / 5));
  const head = steady.slice(0, window);
  const tail = steady.slice(-window);
  const growth = (key: "rssMb" | "heapMb") =>
    median(tail.map((s) => s[key])) - median(head.map((s) => s[key]));
  const rssGrowth = growth("rssMb");
  const heapGrowth = growth("heapMb");
  let ok = check(steady.length >= 6, `${steady.length} samples after the ${warmup} s warm-up (need ≥ 6)`);
  ok =
    check(
      rssGrowth <= maxRssGrowth,
      `RSS grew ${rssGrowth.toFixed(1)} MB after warm-up (median of the first vs the last ${window} samples; bound ${maxRssGrowth} MB)`,
    ) && ok;
  ok =
    check(
      heapGrowth <= maxHeapGrowth,
      `JS heap after GC grew ${heapGrowth.toFixed(1)} MB after warm-up (bound ${maxHeapGrowth} MB)`,
    ) && ok;
  ok =
    check(
      after.sockets === 0 && after.engineSessions === 0 && after.rooms === 0,
      `nothing left once every client had gone: ${after.sockets} sockets, ${after.engineSessions} engine sessions, ${after.rooms} rooms`,
    ) && ok;
  const opened = totals.opened ?? 0;
  const lost = totals.lostUnexpectedly ?? 0;
  const failures = totals.connectFailures ?? 0;
  const lostShare = opened ? lost / opened : 0;
  ok =
    check(lostShare <= 0.01, `${lost} of ${opened} connections closed by the server or network (bound 1%)`) &&
    ok;
  ok = check(failures <= opened * 0.01, `${failures} failed connects (bound 1% of opened)`) && ok;
  return { ok, lines };
}

async function main(): Promise<number> {
  const startedAt = new Date().toISOString();
  raiseFdLimit(process.pid, FD_LIMIT);
  const dataDir = mkdtempSync(join(tmpdir(), "switchboard-soak-"));
  const database = await chooseDatabase();
  const { proc, ready } = await startServerProcess({
    NODE_ENV: "development",
    HOST: "127.0.0.1",
    PORT: "0",
    DATA_DIR: dataDir,
    SEED_DEMO: "true",
    DEMO_PASSWORD: "soak-password",
    // The whole population is one demo user: per-user caps would push it out.
    MAX_CONNECTIONS_PER_USER: "1000000",
    RATE_LIMIT_EVENTS_PER_SECOND: "1000000",
    RATE_LIMIT_BURST: "1000000",
    SANDBOX_STEP_MS: "200",
    LOG_LEVEL: "warn",
    ...(database ? { DATABASE_URL: database.url } : {}),
  });
  raiseFdLimit(ready.pid, FD_LIMIT);
  log(`server ${ready.url} (pid ${ready.pid}); database ${database ? "PostgreSQL" : "PGlite"}`);

  const population = new Population({
    url: ready.url,
    token: ready.token,
    conversationId: ready.conversationId,
    connections: num("connections"),
    pollingShare: num("polling-share"),
    watchShare: num("watch-share"),
    churnPerSecond: num("churn"),
    pingEverySeconds: num("ping-every"),
  });
  const samples: Sample[] = [];
  let messagesSent = 0;
  let messageFailures = 0;
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const sample = async () => {
    const m = await memory(ready.adminUrl);
    samples.push({
      t: elapsed(),
      rssMb: (readRssKb(ready.pid) * 1024) / MB,
      heapMb: m.heapUsedBytes / MB,
      objects: m.objectCount,
      connections: population.size,
      sockets: m.sockets,
      rooms: m.rooms,
    });
    const last = samples[samples.length - 1]!;
    log(
      `t=${last.t.toFixed(0)}s rss=${last.rssMb.toFixed(1)}MB heap=${last.heapMb.toFixed(1)}MB clients=${last.connections} sockets=${last.sockets}`,
    );
  };

  let after: MemorySample;
  try {
    await sample();
    await population.fill();
    population.start();
    const interval = 1000 / Math.max(0.1, num("messages-per-second"));
    const sender = setInterval(() => {
      fetch(`${ready.url}/api/v1/conversations/${ready.conversationId}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${ready.token}`, "content-type": "application/json" },
        body: JSON.stringify({ content: { text: `soak message ${messagesSent}` } }),
        signal: AbortSignal.timeout(10_000),
      }).then(
        (r) => (r.status === 201 ? messagesSent++ : messageFailures++),
        () => messageFailures++,
      );
    }, interval);
    while (elapsed() < duration) {
      await Bun.sleep(sampleEvery * 1000);
      await sample();
    }
    clearInterval(sender);
    population.stop();
    // Sessions close asynchronously (polling sessions by their heartbeat): give them time.
    const settleUntil = Date.now() + 60_000;
    do {
      await Bun.sleep(1000);
      after = await memory(ready.adminUrl);
    } while ((after.sockets > 0 || after.engineSessions > 0 || after.rooms > 0) && Date.now() < settleUntil);
  } finally {
    proc.kill("SIGTERM");
    await Promise.race([proc.exited, Bun.sleep(15_000)]);
    if (proc.exitCode === null) proc.kill("SIGKILL");
    await database?.drop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }

  const { failureSamples, ...counts } = population.stats;
  const totals = { ...counts, messagesSent, messageFailures };
  if (failureSamples.length > 0) log(`first connect failures: ${failureSamples.join(" | ")}`);
  const verdict = judge(samples, after, totals);
  const summary: SoakSummary = {
    startedAt,
    command: `bun scripts/soak/index.ts ${process.argv.slice(2).join(" ")}`.trim(),
    settings: {
      "duration (s)": duration,
      "warm-up (s)": warmup,
      connections: num("connections"),
      "polling share": num("polling-share"),
      "watching the conversation": num("watch-share"),
      "churn (connections replaced per s)": num("churn"),
      "ping per connection every (s)": num("ping-every"),
      "REST messages per s (each fanned out + 3 status ticks)": num("messages-per-second"),
      "bound: RSS growth after warm-up (MB)": maxRssGrowth,
      "bound: JS heap growth after warm-up (MB)": maxHeapGrowth,
      database: database ? "PostgreSQL (fresh database)" : "PGlite (embedded)",
      machine: `${navigator.hardwareConcurrency} cores, Bun ${Bun.version}`,
    },
    warmupSeconds: warmup,
    samples,
    verdict,
    totals,
  };
  mkdirSync(REPORTS, { recursive: true });
  const stamp = startedAt.replace(/[:.]/g, "-").slice(0, 19);
  const svgName = `soak-${stamp}.svg`;
  writeFileSync(join(REPORTS, svgName), renderSvg(summary));
  writeFileSync(join(REPORTS, `soak-${stamp}.md`), renderMarkdown(summary, svgName));
  writeFileSync(join(REPORTS, "soak-latest.svg"), renderSvg(summary));
  writeFileSync(join(REPORTS, "soak-latest.md"), renderMarkdown(summary, "soak-latest.svg"));
  for (const line of verdict.lines) log(line);
  log(`${verdict.ok ? "PASS" : "FAIL"}: reports/soak-${stamp}.md`);
  return verdict.ok ? 0 : 1;
}

process.exit(await main());
