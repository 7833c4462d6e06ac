/**
 * Smoke run of scripts/load/pgbench-chat.sh (the chat path's statements under pgbench): it sets up
 * a seeded database, runs every statement of a message without a failure, and each pgbench
 * transaction leaves one message that went pending → sent → delivered → read, with its idempotency
 * key, its send job settled. Never a speed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { hasPostgres, TEST_POSTGRES_URL } from "../support/services.ts";

const ROOT = resolve(import.meta.dir, "../..");
const SCRIPT = resolve(ROOT, "scripts/load/pgbench-chat.sh");
const inCI = process.env.CI === "true" || process.env.REQUIRE_SERVICES === "1";

const pgbench = Bun.which("pgbench");
if (!pgbench) {
  if (inCI) throw new Error("pgbench is not installed (Debian: postgresql-contrib): CI requires it");
  console.warn("\n  ⚠ SKIPPING the pgbench suite: pgbench is not installed.\n");
}
const runnable = pgbench !== null && (await hasPostgres());
const database = `switchboard_pgbench_test_${process.pid}`;
const out = mkdtempSync(join(tmpdir(), "pgbench-chat-"));

const dropDatabase = () =>
  Bun.spawnSync(["bun", "scripts/load/pgbench/setup.ts", "--drop"], {
    cwd: ROOT,
    env: { ...process.env, PGBENCH_DATABASE: database },
  });

afterAll(() => {
  if (runnable) dropDatabase();
  rmSync(out, { recursive: true, force: true });
});

describe.if(runnable)("scripts/load/pgbench-chat.sh", () => {
  test("runs every statement of the chat path and leaves each message read", async () => {
    const run = Bun.spawnSync([SCRIPT, "-c", "2", "-T", "1", "-o", out, "--keep"], {
      cwd: ROOT,
      env: { ...process.env, PGBENCH_DATABASE: database },
      stdout: "pipe",
      stderr: "pipe",
    });
    const output = run.stdout.toString();
    expect(run.exitCode, run.stderr.toString()).toBe(0);
    expect(output).toContain("number of failed transactions: 0");
    const processed = Number(/transactions actually processed: (\d+)/.exec(output)?.[1]);
    expect(processed).toBeGreaterThan(0);
    // The same text is recorded in the results folder, with its header.
    const [file] = readdirSync(out);
    expect(file).toMatch(/^pgbench-chat-.*\.txt$/);
    const recorded = readFileSync(join(out, file!), "utf8");
    expect(recorded).toContain("# load average at start:");
    expect(recorded).toContain(`transactions actually processed: ${processed}`);

    const url = new URL(TEST_POSTGRES_URL);
    url.pathname = `/${database}`;
    const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
    try {
      const [byBench] = await sql<{ read: number; other: number; last_seq: number }[]>`
        SELECT count(*) FILTER (WHERE status = 'read' AND whatsapp_message_id LIKE 'wamid.pgbench.%')::int AS read,
               count(*) FILTER (WHERE whatsapp_message_id LIKE 'wamid.pgbench.%' AND status <> 'read')::int AS other,
               (SELECT max(last_seq) FROM conversations)::int AS last_seq
          FROM messages`;
      expect(byBench!.read).toBe(processed);
      expect(byBench!.other).toBe(0);
      // The seed's own message is seq 1; each pgbench message took the next seq of that conversation.
      expect(byBench!.last_seq).toBe(processed + 1);
      // Each message claimed its idempotency key and queued its send job in the same statement; a
      // transaction settles one job, so at most one per client is left at the end.
      const [extra] = await sql<{ keys: number; jobs: number }[]>`
        SELECT (SELECT count(*) FROM idempotency_keys WHERE key LIKE 'pgbench.%')::int AS keys,
               (SELECT count(*) FROM outbox_jobs)::int AS jobs`;
      expect(extra!.keys).toBe(processed);
      expect(extra!.jobs).toBeLessThanOrEqual(2);
    } finally {
      await sql.end();
    }
  }, 60_000);
});
