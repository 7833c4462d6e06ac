/**
 * Start-up failures an operator can fix print ONE line on stderr that names the cause and the fix,
 * with no stack trace, and exit 1: the port is taken ("set PORT"), the embedded database is held by
 * another process (names its PID), PostgreSQL is unreachable (host and port, "check DATABASE_URL"),
 * the database does not exist ("create it with createdb NAME"), the login is refused. The port and
 * the lock are checked before the database is touched; a lock left by a dead process is taken over.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGLITE_LOCK_FILE } from "../../db/pglite-lock.ts";
import {
  MAIN,
  ROOT,
  runToExit,
  START_TIMEOUT_MS,
  startProcess,
  stopProcess,
} from "../support/main-process.ts";
import { hasPostgres, TEST_POSTGRES_URL } from "../support/services.ts";

const postgresUp = await hasPostgres();
let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "sb-startup-"));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The failure is one line on stderr, mentions every fragment, carries no stack, and the exit is 1. */
function expectOneLineFailure(result: { code: number; stderr: string }, ...fragments: string[]): void {
  const lines = result.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  for (const fragment of fragments) expect(lines[0]).toContain(fragment);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.code).toBe(1);
}

function listen(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      resolve({ server, port: (server.address() as { port: number }).port });
    });
  });
}

const runMain = (env: Record<string, string>) =>
  runToExit(["bun", MAIN], { DATA_DIR: join(scratch, "data"), ...env });

describe("start-up errors are one line with the fix", () => {
  test("a port in use says so and to set PORT, before the database directory is created", async () => {
    const { server, port } = await listen();
    try {
      const pgliteDir = join(scratch, "port-db");
      const result = await runMain({ PORT: String(port), PGLITE_DIR: pgliteDir });
      expectOneLineFailure(result, `port ${port}`, "already in use", "set PORT");
      expect(existsSync(pgliteDir)).toBe(false);
    } finally {
      server.close();
    }
  });

  test("an embedded database held by a live process is refused, naming the PID, before PGlite touches it", async () => {
    const pgliteDir = join(scratch, "held-db");
    mkdirSync(pgliteDir);
    // This test process is alive and is not the child: the child must refuse.
    writeFileSync(join(pgliteDir, PGLITE_LOCK_FILE), `${process.pid}\n`);
    const result = await runMain({ PORT: "0", PGLITE_DIR: pgliteDir });
    expectOneLineFailure(result, pgliteDir, `process ${process.pid}`, "stop it first");
    expect(readdirSync(pgliteDir)).toEqual([PGLITE_LOCK_FILE]);
  });

  test(
    "a running server's directory is refused to a second server, scripts/token.ts, scripts/seed.ts and the users CLI; after it stops, the token script works",
    async () => {
      const pgliteDir = join(scratch, "shared-db");
      const env = {
        PGLITE_DIR: pgliteDir,
        DATA_DIR: join(scratch, "data"),
        DEMO_PASSWORD: "demo-password-1",
      };
      const first = await startProcess(env);
      try {
        const second = await runMain({ ...env, PORT: "0" });
        expectOneLineFailure(second, `process ${first.proc.pid}`);
        const token = await runToExit(["bun", join(ROOT, "scripts", "token.ts")], {
          ...env,
          DATA_DIR: join(scratch, "data"),
        });
        expectOneLineFailure(token, `process ${first.proc.pid}`);
        const seed = await runToExit(["bun", join(ROOT, "scripts", "seed.ts")], env);
        expectOneLineFailure(seed, `process ${first.proc.pid}`);
        const users = await runToExit(["bun", join(ROOT, "scripts", "users.ts"), "list"], env);
        expectOneLineFailure(users, `process ${first.proc.pid}`);
      } finally {
        expect(await stopProcess(first.proc)).toBe(0);
      }
      expect(existsSync(join(pgliteDir, PGLITE_LOCK_FILE))).toBe(false);
      const token = await runToExit(["bun", join(ROOT, "scripts", "token.ts")], {
        ...env,
        DATA_DIR: join(scratch, "data"),
      });
      expect(token.code).toBe(0);
      expect(token.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    },
    START_TIMEOUT_MS * 2,
  );

  test(
    "a lock left by a process that died is taken over",
    async () => {
      const pgliteDir = join(scratch, "stale-db");
      mkdirSync(pgliteDir);
      const dead = Bun.spawn(["true"]);
      await dead.exited;
      writeFileSync(join(pgliteDir, PGLITE_LOCK_FILE), `${dead.pid}\n`);
      const server = await startProcess({
        PGLITE_DIR: pgliteDir,
        DATA_DIR: join(scratch, "data"),
      });
      expect(await stopProcess(server.proc)).toBe(0);
    },
    START_TIMEOUT_MS * 2,
  );

  test("an unreachable PostgreSQL names host and port and says to check DATABASE_URL", async () => {
    const { server, port } = await listen();
    server.close(); // a port nobody listens on
    await new Promise((r) => server.once("close", r));
    const result = await runMain({
      DATABASE_URL: `postgres://postgres:secret-pw@127.0.0.1:${port}/switchboard`,
    });
    expectOneLineFailure(result, `127.0.0.1:${port}`, "check DATABASE_URL");
    expect(result.stderr).not.toContain("secret-pw");
  });

  describe.skipIf(!postgresUp)("on the machine's PostgreSQL", () => {
    const server = new URL(TEST_POSTGRES_URL);

    test("a database that does not exist says to create it with createdb NAME", async () => {
      const name = `sb_missing_${process.pid}_${Date.now()}`;
      const url = new URL(TEST_POSTGRES_URL);
      url.pathname = `/${name}`;
      const result = await runMain({ DATABASE_URL: url.href });
      expectOneLineFailure(result, `database "${name}" does not exist`, `createdb ${name}`);
    });

    test("a refused login names the user and says to check DATABASE_URL", async () => {
      const url = new URL(TEST_POSTGRES_URL);
      url.username = "sb_no_such_role";
      url.password = "hunter2-secret";
      const result = await runMain({ DATABASE_URL: url.href });
      expectOneLineFailure(
        result,
        `${server.hostname}:${server.port || "5432"}`,
        'user "sb_no_such_role"',
        "DATABASE_URL",
      );
      expect(result.stderr).not.toContain("hunter2-secret");
    });
  });
});
