/**
 * A lost database is "retry later", not a bug: REST answers 503 service_unavailable JSON, /health
 * says degraded, and everything recovers by itself (PostgreSQL: connections killed while new ones
 * are refused).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { isDatabaseUnavailable } from "../../db/errors.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { hasPostgres, TEST_POSTGRES_URL } from "../support/services.ts";
import { type Harness, sleep, startHarness } from "./harness.ts";

test("connection failures are recognised through Drizzle's wrapping; other errors are not", () => {
  expect(isDatabaseUnavailable({ message: "query failed", cause: { code: "CONNECTION_CLOSED" } })).toBe(true);
  expect(isDatabaseUnavailable({ code: "57P01", severity: "FATAL" })).toBe(true);
  expect(isDatabaseUnavailable({ code: "55000", severity: "FATAL" })).toBe(true);
  expect(isDatabaseUnavailable({ code: "23505", severity: "ERROR" })).toBe(false);
  expect(isDatabaseUnavailable(new Error("bug"))).toBe(false);
});

test("a database that refuses connections is recognised from the real client's error", async () => {
  // A port that was just free: nothing listens there.
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  const client = postgres(`postgres://postgres@127.0.0.1:${port}/none`, { max: 1, connect_timeout: 2 });
  const failure = await client`select 1`.then(
    () => null,
    (err: unknown) => err,
  );
  await client.end({ timeout: 1 });
  expect(failure).not.toBeNull();
  expect(isDatabaseUnavailable({ message: "query failed", cause: failure })).toBe(true);
});

const postgresBackend = (await backends()).find((b) => b.name === "postgres");

describe.skipIf(!postgresBackend || !(await hasPostgres()))("database outage on PostgreSQL", () => {
  let h: Harness;
  let admin: postgres.Sql;
  let dbName: string;

  beforeAll(async () => {
    h = await startHarness(postgresBackend!);
    dbName = new URL(h.server.ctx.config.databaseUrl!).pathname.slice(1);
    admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await admin?.unsafe(`ALTER DATABASE "${dbName}" WITH ALLOW_CONNECTIONS true`).catch(() => {});
    await h?.close();
    await admin?.end({ timeout: 2 });
  }, SETUP_TIMEOUT_MS);

  test("during an outage REST answers 503 JSON and /health is degraded; afterwards it recovers", async () => {
    const token = await h.token(h.fx.admin);
    await admin.unsafe(`ALTER DATABASE "${dbName}" WITH ALLOW_CONNECTIONS false`);
    try {
      await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${dbName} AND pid <> pg_backend_pid()`;
      const res = await h.api("/api/v1/conversations", { token });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(await res.json()).toMatchObject({ error: { code: "service_unavailable" } });
      const health = await h.api("/health");
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: "degraded", database: "error" });
    } finally {
      await admin.unsafe(`ALTER DATABASE "${dbName}" WITH ALLOW_CONNECTIONS true`);
    }
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await h.api("/api/v1/conversations", { token })).status;
      if (status !== 200) await sleep(100);
    }
    expect(status).toBe(200);
  });
});
