/**
 * `bun run users` (scripts/users.ts) as a subprocess on both databases: every command, the shared
 * rules (validation, last admin, hashing), one-line errors and exit codes.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { authSessions, users } from "../../db/schema.ts";
import { verifyPassword } from "../../src/auth/password.ts";
import type { ManagedUser } from "../../src/shared/api.ts";
import { type BackendInstance, backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";

// Every run boots the database in a new process (PGlite: seconds of CPU on a loaded machine).
setDefaultTimeout(120_000);
const SCRIPT = join(import.meta.dir, "..", "..", "scripts", "users.ts");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(env: Record<string, string>, args: string[], stdin?: string): Promise<Run> {
  const proc = Bun.spawn(["bun", SCRIPT, ...args], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      NODE_ENV: "test",
      LOG_LEVEL: "silent",
      ...env,
    },
    stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`), answering each prompt in turn once it has
 * been printed: how an operator types a password.
 */
async function ttyCli(env: Record<string, string>, args: string[], answers: string[]): Promise<Run> {
  const command = ["bun", SCRIPT, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const proc = Bun.spawn(["script", "-qec", command, "/dev/null"], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", NODE_ENV: "test", ...env },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  let stdout = "";
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let prompts = 0;
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    stdout += decoder.decode(chunk.value);
    const seen = stdout.match(/Password: /gi)?.length ?? 0;
    while (prompts < seen && prompts < answers.length) {
      proc.stdin.write(`${answers[prompts++]}\r`);
      proc.stdin.flush();
    }
  }
  clearTimeout(timer);
  const stderr = await new Response(proc.stderr as ReadableStream).text();
  return { code: await proc.exited, stdout, stderr };
}

const oneLine = (run: Run) => run.stderr.trim().split("\n");

for (const backend of await backends()) {
  describe(`bun run users on ${backend.name}`, () => {
    let instance: BackendInstance;
    let orgId = "";
    const run = (args: string[], stdin?: string) => cli(instance.env, args, stdin);
    /** Reads the database between runs (PGlite: never while the CLI holds the directory). */
    async function withDb<T>(
      fn: (db: Awaited<ReturnType<BackendInstance["open"]>>["db"]) => Promise<T>,
    ): Promise<T> {
      const handle = await instance.open();
      try {
        return await fn(handle.db);
      } finally {
        await handle.close();
      }
    }
    const userRow = (email: string) =>
      withDb(async (db) => (await db.select().from(users).where(eq(users.email, email)))[0]);

    beforeAll(async () => {
      instance = await backend.create();
    }, SETUP_TIMEOUT_MS);
    afterAll(() => instance?.dispose(), SETUP_TIMEOUT_MS);

    test("--help prints the usage and exits 0; no command exits 2", async () => {
      const help = await run(["--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain("create-org");
      expect(help.stdout).toContain("reset-password");
      expect((await run(["--", "--help"])).code).toBe(0);
      expect((await run([])).code).toBe(2);
    });

    test("create-org prints the new organization's id", async () => {
      const res = await run(["create-org", "Acme Support"]);
      expect(res.code).toBe(0);
      orgId = /organization created: Acme Support\s+(\S+)/.exec(res.stdout)?.[1] ?? "";
      expect(orgId).toMatch(/^[0-9a-f-]{36}$/);
      expect((await run(["list-orgs"])).stdout).toContain(orgId);
    });

    test("create without a terminal generates a password, prints it once, stores only its hash", async () => {
      const res = await run([
        "create",
        "--org",
        "Acme Support",
        "--email",
        "First@Acme.test",
        "--name",
        "First Admin",
        "--role",
        "org_admin",
      ]);
      expect(res.code).toBe(0);
      expect(res.stdout).toContain("first@acme.test");
      const password = /password: (\S+)/.exec(res.stdout)?.[1] ?? "";
      expect(password.length).toBeGreaterThanOrEqual(12);
      const row = await userRow("first@acme.test");
      expect(row).toMatchObject({
        role: "org_admin",
        active: true,
        organizationId: orgId,
        name: "First Admin",
      });
      expect(row!.passwordHash).not.toContain(password);
      expect(await verifyPassword(password, row!.passwordHash)).toBe(true);
    });

    test("create --password-stdin takes the password from standard input", async () => {
      const res = await run(
        [
          "create",
          "--org",
          orgId,
          "--email",
          "agent@acme.test",
          "--name",
          "Agent",
          "--role",
          "agent",
          "--password-stdin",
        ],
        "a typed-in password\n",
      );
      expect(res.code).toBe(0);
      expect(res.stdout).not.toContain("password:");
      expect(
        await verifyPassword("a typed-in password", (await userRow("agent@acme.test"))!.passwordHash),
      ).toBe(true);
    });

    // `script` is util-linux's (Debian: bsdutils, always installed); no skip when it is missing.
    test("on a terminal the password is asked twice, not echoed; two different answers are refused", async () => {
      const typed = "typed on the terminal 1";
      const ok = await ttyCli(
        instance.env,
        ["create", "--org", orgId, "--email", "tty@acme.test", "--name", "Tty", "--role", "agent"],
        [typed, typed],
      );
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain("Repeat password: ");
      expect(ok.stdout).not.toContain(typed);
      expect(await verifyPassword(typed, (await userRow("tty@acme.test"))!.passwordHash)).toBe(true);
      const differ = await ttyCli(
        instance.env,
        ["create", "--org", orgId, "--email", "tty2@acme.test", "--name", "Tty", "--role", "agent"],
        [typed, "something else entirely"],
      );
      expect(differ.code).toBe(2);
      expect(differ.stdout).toContain("the passwords differ");
      expect(await userRow("tty2@acme.test")).toBeUndefined();
    });

    test("list shows the users, as a table or as JSON", async () => {
      const table = await run(["list", "--org", orgId]);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/agent@acme\.test\s+Agent\s+agent\s+active\s+Acme Support/);
      const json = JSON.parse((await run(["list", "--json"])).stdout) as ManagedUser[];
      expect(json.map((u) => u.email).sort()).toEqual([
        "agent@acme.test",
        "first@acme.test",
        "tty@acme.test",
      ]);
      expect(JSON.stringify(json)).not.toContain("argon2");
    });

    test("set-role, deactivate and activate change the user; deactivation revokes their sessions", async () => {
      expect((await run(["set-role", "agent@acme.test", "viewer"])).code).toBe(0);
      expect((await userRow("agent@acme.test"))!.role).toBe("viewer");
      const user = (await userRow("agent@acme.test"))!;
      await withDb((db) =>
        db.insert(authSessions).values({ userId: user.id, expiresAt: new Date(Date.now() + 60_000) }),
      );
      expect((await run(["deactivate", "agent@acme.test"])).code).toBe(0);
      expect((await userRow("agent@acme.test"))!.active).toBe(false);
      const sessions = await withDb((db) =>
        db.select().from(authSessions).where(eq(authSessions.userId, user.id)),
      );
      expect(sessions.every((s) => s.revokedReason === "account_disabled")).toBe(true);
      expect((await run(["activate", "agent@acme.test"])).code).toBe(0);
      expect((await userRow("agent@acme.test"))!.active).toBe(true);
    });

    test("reset-password generates a new password, or takes one from stdin", async () => {
      const generated = await run(["reset-password", "agent@acme.test"]);
      expect(generated.code).toBe(0);
      const password = /password: (\S+)/.exec(generated.stdout)?.[1] ?? "";
      expect(await verifyPassword(password, (await userRow("agent@acme.test"))!.passwordHash)).toBe(true);
      expect(
        (await run(["reset-password", "agent@acme.test", "--password-stdin"], "chosen password 42\n")).code,
      ).toBe(0);
      expect(
        await verifyPassword("chosen password 42", (await userRow("agent@acme.test"))!.passwordHash),
      ).toBe(true);
    });

    test("the same rules as the API: last admin, duplicate email, weak password, bad role — one line, exit 1", async () => {
      const refusals: [string[], string, string?][] = [
        [["set-role", "first@acme.test", "agent"], "last_admin"],
        [["deactivate", "first@acme.test"], "last_admin"],
        [
          ["create", "--org", orgId, "--email", "AGENT@acme.test", "--name", "Twin", "--role", "agent"],
          "email_taken",
        ],
        [
          [
            "create",
            "--org",
            orgId,
            "--email",
            "weak@acme.test",
            "--name",
            "W",
            "--role",
            "agent",
            "--password-stdin",
          ],
          "weak_password",
          "short\n",
        ],
        [
          ["create", "--org", orgId, "--email", "x@acme.test", "--name", "X", "--role", "boss"],
          "validation_error",
        ],
        [
          ["create", "--org", "No Such Org", "--email", "x@acme.test", "--name", "X", "--role", "agent"],
          "organization_not_found",
        ],
        [["set-role", "ghost@acme.test", "agent"], "not_found"],
        [
          [
            "create",
            "--org",
            orgId,
            "--email",
            "bell@acme.test",
            "--name",
            "\u0007\u001b",
            "--role",
            "agent",
          ],
          "validation_error",
        ],
      ];
      for (const [args, code, stdin] of refusals) {
        const res = await run(args, stdin);
        expect(res.code).toBe(1);
        expect(oneLine(res)).toHaveLength(1);
        expect(res.stderr).toContain(`(${code})`);
      }
      expect((await userRow("first@acme.test"))!.role).toBe("org_admin");
      expect(await userRow("weak@acme.test")).toBeUndefined();
      const empty = await run([
        "create",
        "--org",
        orgId,
        "--email",
        "bell@acme.test",
        "--name",
        "\u0007 \u001b",
        "--role",
        "agent",
      ]);
      expect(empty.stderr).toBe("users: error: name: must not be empty (validation_error)\n");
    });

    test("a name goes through the one text rule: control characters removed, tabs become spaces", async () => {
      const res = await run([
        "create",
        "--org",
        orgId,
        "--email",
        "tab@acme.test",
        "--name",
        "Tab\tBell\u0007",
        "--role",
        "agent",
      ]);
      expect(res.code).toBe(0);
      expect((await userRow("tab@acme.test"))!.name).toBe("Tab Bell");
    });

    test("bad usage exits 2 with one line and a pointer to --help", async () => {
      for (const args of [["frobnicate"], ["create", "--bogus"], ["create", "--org", orgId], ["set-role"]]) {
        const res = await run(args);
        expect(res.code).toBe(2);
        expect(res.stderr).toContain("--help");
        expect(oneLine(res)).toHaveLength(2);
      }
    });
  });
}

describe("bun run users without a database", () => {
  test("an unreachable DATABASE_URL is one line on stderr and exit 1", async () => {
    const res = await cli({ DATABASE_URL: "postgres://postgres@127.0.0.1:1/nowhere" }, ["list"]);
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res.stderr).toStartWith("users: error:");
  });
});
