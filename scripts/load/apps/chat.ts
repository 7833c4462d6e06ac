/**
 * The chat backend as the `chat` scenario runs it: the real server (src/app.ts startServer) on a
 * fresh database with the demo organization seeded, sandbox channel, no web UI build.
 * Env: BENCH_DB = pglite (in memory, default) | postgres; BENCH_POSTGRES_URL (default
 * TEST_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/test) is used to create a throw-away
 * database `switchboard_bench` next to it. Every watcher logs in as the demo admin (the seed has
 * two users), so the per-user caps are raised: MAX_CONNECTIONS_PER_USER 1,000 (default 3 would push
 * watchers out) and the per-user event bucket to 1,000/s (100 joins at once exceed the default 20).
 * BENCH_COUNT_QUERIES=1 (PostgreSQL): counts the statements sent, readable at the ready line's `queriesUrl`.
 * Prints `{"ready":true,"port":N,"pid":N,"conversationId":...,"admin":...,"agent":...,"password":...}`.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { startServer } from "../../../src/app.ts";
import { loadConfig } from "../../../src/config.ts";
import { DEMO_ADMIN_EMAIL, DEMO_AGENT_EMAIL } from "../../../src/seed.ts";

/** BENCH_DATABASE: another name, so that two people benchmarking one PostgreSQL do not drop each other's. */
const BENCH_DATABASE = process.env.BENCH_DATABASE ?? "switchboard_bench";
const PASSWORD = "load-benchmark-password";

async function freshPostgres(adminUrl: string): Promise<string> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`DROP DATABASE IF EXISTS ${BENCH_DATABASE} WITH (FORCE)`);
    await sql.unsafe(`CREATE DATABASE ${BENCH_DATABASE}`);
  } finally {
    await sql.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${BENCH_DATABASE}`;
  return url.toString();
}

const kind = process.env.BENCH_DB === "postgres" ? "postgres" : "pglite";
const adminUrl =
  process.env.BENCH_POSTGRES_URL ??
  process.env.TEST_POSTGRES_URL ??
  "postgres://postgres@127.0.0.1:5432/test";
const dataDir = mkdtempSync(join(tmpdir(), "switchboard-bench-"));
const config = loadConfig({
  NODE_ENV: "production",
  HOST: "127.0.0.1",
  PORT: "0",
  DATA_DIR: dataDir,
  DATABASE_URL: kind === "postgres" ? await freshPostgres(adminUrl) : undefined,
  PGLITE_DIR: "memory://",
  JWT_SECRET: "load-benchmark-secret-at-least-32-characters",
  SEED_DEMO: "true",
  DEMO_PASSWORD: PASSWORD,
  MAX_CONNECTIONS_PER_USER: "1000",
  RATE_LIMIT_EVENTS_PER_SECOND: "1000",
  RATE_LIMIT_BURST: "1000",
  LOG_LEVEL: process.env.LOG_LEVEL,
});
// BENCH_COUNT_QUERIES=1: count PostgreSQL statements, readable at `queriesUrl` (a second listener,
// so the count's own requests never touch the app's path or its database).
let queries = 0;
const counting = kind === "postgres" && process.env.BENCH_COUNT_QUERIES === "1";
const running = await startServer(config, {
  buildWebUi: false,
  ...(counting ? { onDatabaseQuery: () => queries++ } : {}),
});
const counter = counting
  ? Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(String(queries)) })
  : null;
process.stdout.write(
  `${JSON.stringify({
    ready: true,
    port: running.server.port,
    pid: process.pid,
    database: kind,
    conversationId: running.seeded?.conversationId,
    admin: DEMO_ADMIN_EMAIL,
    agent: DEMO_AGENT_EMAIL,
    password: PASSWORD,
    ...(counter ? { queriesUrl: `http://127.0.0.1:${counter.port}/` } : {}),
  })}\n`,
);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void counter?.stop(true);
    void running.stop().then(() => process.exit(0));
  });
}
