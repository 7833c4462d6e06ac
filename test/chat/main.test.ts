/**
 * `bun run start` as an operator runs it: a subprocess of src/main.ts on an empty database seeds
 * the demo organization and prints a working login and token; a restart does not seed again and
 * keeps the generated development secret; SIGTERM exits 0; production refuses a missing secret.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { io } from "socket.io-client";
import { type BackendInstance, backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { MAIN, START_TIMEOUT_MS, startProcess, stopProcess } from "../support/main-process.ts";

const start = (env: Record<string, string>, until: RegExp) => startProcess(env, until);
const stop = stopProcess;

describe("bun run start (src/main.ts)", () => {
  let db: BackendInstance;
  let env: Record<string, string>;

  beforeAll(async () => {
    const [pglite] = await backends();
    db = await pglite!.create();
    env = { ...db.env };
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => db?.dispose(), SETUP_TIMEOUT_MS);

  let printedToken = "";
  let firstPassword = "";

  test(
    "the first start seeds demo data and prints a password and token that work; SIGTERM exits 0",
    async () => {
      const { proc, output } = await start(env, /Access token[^\n]*\n\s+(\S+)/);
      const url = /running on (http:\/\/\S+)/.exec(output)![1]!;
      const password = /password: (\S+)/.exec(output)![1]!;
      firstPassword = password;
      printedToken = /Access token[^\n]*\n\s+(\S+)/.exec(output)![1]!;
      expect(output).toContain("admin@demo.local");
      expect(output).toContain("agent@demo.local");

      const login = await fetch(`${url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "agent@demo.local", password }),
      });
      expect(login.status).toBe(200);
      const list = await fetch(`${url}/api/v1/conversations`, {
        headers: { authorization: `Bearer ${printedToken}` },
      });
      expect(((await list.json()) as { data: unknown[] }).data).toHaveLength(1);

      const socket = io(url, {
        auth: { token: printedToken },
        transports: ["websocket"],
        reconnection: false,
        forceNew: true,
      });
      const hello = await new Promise<{ user_id: string }>((resolve, reject) => {
        socket.once("connected", resolve);
        socket.once("connect_error", reject);
        setTimeout(() => reject(new Error("no connected event")), 5000);
      });
      expect(hello.user_id).toBeString();
      const closed = new Promise<string>((resolve) => socket.once("disconnect", resolve));
      expect(await stop(proc)).toBe(0);
      expect(await Promise.race([closed, Bun.sleep(5000).then(() => "still connected")])).not.toBe(
        "still connected",
      );
    },
    START_TIMEOUT_MS * 2,
  );

  test(
    "a restart on the same data does not seed again and still accepts tokens of the generated secret",
    async () => {
      const { proc, output } = await start(env, /prints an access token/);
      expect(output).not.toContain("Demo data seeded");
      // Every demo start says how to log in: the users, and how to set a password.
      expect(output).toContain("Demo data from an earlier start (to start over, stop the server and delete");
      expect(output).toContain("admin:  admin@demo.local");
      expect(output).toContain("restart with DEMO_PASSWORD=<password>");
      const url = /running on (http:\/\/\S+)/.exec(output)![1]!;
      const list = await fetch(`${url}/api/v1/conversations`, {
        headers: { authorization: `Bearer ${printedToken}` },
      });
      expect(list.status).toBe(200);
      expect(await stop(proc)).toBe(0);
    },
    START_TIMEOUT_MS * 2,
  );

  test(
    "a restart with a new DEMO_PASSWORD applies it to the demo users and prints it",
    async () => {
      const { proc, output } = await start(
        { ...env, DEMO_PASSWORD: "a-new-demo-password" },
        /prints an access token/,
      );
      expect(output).toContain("password: a-new-demo-password   (DEMO_PASSWORD, applied");
      const url = /running on (http:\/\/\S+)/.exec(output)![1]!;
      const login = (password: string) =>
        fetch(`${url}/api/v1/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: "admin@demo.local", password }),
        });
      expect((await login("a-new-demo-password")).status).toBe(200);
      expect((await login(firstPassword)).status).toBe(401);
      expect(await stop(proc)).toBe(0);
    },
    START_TIMEOUT_MS * 2,
  );

  test(
    "production starts empty, its banner says how to make the first admin, and that admin can log in",
    async () => {
      const [pglite] = await backends();
      const fresh = await pglite!.create();
      const prodEnv = {
        ...fresh.env,
        NODE_ENV: "production",
        HOST: "127.0.0.1",
        JWT_SECRET: "a-production-secret-of-32-characters!",
        WEB_DIST_DIR: join(fresh.env.DATA_DIR!, "web"),
      };
      try {
        const first = await start(prodEnv, /No users yet[\s\S]*docs\/administration\.md/);
        expect(first.output).not.toContain("Demo data seeded");
        expect(first.output).toContain("bun run users -- create-org");
        expect(first.output).toContain("--role org_admin");
        expect(await stop(first.proc)).toBe(0);

        const users = join(import.meta.dir, "..", "..", "scripts", "users.ts");
        const cli = async (args: string[]) => {
          const proc = Bun.spawn(["bun", users, ...args], {
            env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...prodEnv },
            stdin: "ignore",
            stdout: "pipe",
            stderr: "pipe",
          });
          const out = await new Response(proc.stdout as ReadableStream).text();
          expect(await proc.exited).toBe(0);
          return out;
        };
        await cli(["create-org", "Your Company"]);
        const created = await cli([
          "create",
          "--org",
          "Your Company",
          "--email",
          "you@example.com",
          "--name",
          "You",
          "--role",
          "org_admin",
        ]);
        const password = /password: (\S+)/.exec(created)![1]!;

        const second = await start(prodEnv, /Log in with your users/);
        const url = /running on (http:\/\/\S+)/.exec(second.output)![1]!;
        const login = await fetch(`${url}/api/v1/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: "you@example.com", password }),
        });
        expect(login.status).toBe(200);
        expect(await stop(second.proc)).toBe(0);
      } finally {
        await fresh.dispose();
      }
    },
    START_TIMEOUT_MS * 3,
  );

  test("production without JWT_SECRET refuses to start with a clear message", async () => {
    const proc = Bun.spawn(["bun", MAIN], {
      env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", PORT: "0" },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await proc.exited).toBe(2);
    expect(await new Response(proc.stderr as ReadableStream).text()).toContain(
      "JWT_SECRET is required in production",
    );
  });
});
