/**
 * The README's quick start and first ten minutes, run as a newcomer would on a fresh clone of this
 * repository's HEAD: each command the README shows is run and checked to do what the README says.
 * Every command is also looked up in the README word for word, so the two cannot drift apart.
 *
 *   bun scripts/check-quickstart.ts            one line per step (✓ or ✗ with the reason); exit 1 on a ✗
 *
 * Deviations, all for a shared machine: the server listens on a free port instead of 8000 (and
 * instead of 3000 in the PORT example when 3000 is taken), the PostgreSQL example uses a database of
 * its own name on TEST_POSTGRES_URL's server (dropped at the end), and `bun test` itself is not run
 * (the whole suite is CI's job: .ci/run).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { io, type Socket } from "socket.io-client";

const ROOT = resolve(import.meta.dir, "..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const STEP_TIMEOUT_MS = 90_000;
const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

// ── small helpers ───────────────────────────────────────────────────────────────────────────────

class StepFailure extends Error {}
function check(ok: unknown, why: string): asserts ok {
  if (!ok) throw new StepFailure(why);
}
/** The README must show `text` word for word. */
function shown(text: string): void {
  check(README.includes(text), `the README no longer shows: ${text}`);
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

function within<T>(what: string, promise: Promise<T>, ms = 15_000): Promise<T> {
  return Promise.race([
    promise,
    Bun.sleep(ms).then(() => {
      throw new StepFailure(`${what} did not happen within ${ms / 1000} s`);
    }),
  ]);
}

interface Server {
  proc: ReturnType<typeof Bun.spawn>;
  url: string;
  banner: string;
  stderr: () => string;
}

/** Runs `cmd` in the clone through bash (as typed in a terminal) and waits for the banner. */
async function startServer(cwd: string, cmd: string, env: Record<string, string>): Promise<Server> {
  // `env` lets the command start with VAR=value and still be the process that gets our signals.
  const proc = Bun.spawn(["bash", "-c", `exec env ${cmd}`], {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", LOG_LEVEL: "warn", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  let err = "";
  void (async () => {
    const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader();
    for (let c = await reader.read(); !c.done; c = await reader.read())
      err += new TextDecoder().decode(c.value);
  })();
  let out = "";
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const done = /running on (http:\/\/\S+)[\s\S]*\n\n$/;
  await within(
    `the banner of \`${cmd}\``,
    (async () => {
      while (!done.test(out)) {
        const chunk = await reader.read();
        if (chunk.done) throw new StepFailure(`\`${cmd}\` exited: ${err.trim() || out.trim()}`);
        out += new TextDecoder().decode(chunk.value);
      }
    })(),
    STEP_TIMEOUT_MS,
  ).catch((e) => {
    proc.kill("SIGKILL");
    throw e;
  });
  reader.releaseLock();
  return { proc, url: done.exec(out)?.[1] as string, banner: out, stderr: () => err };
}

async function stopServer(server: Server | undefined): Promise<void> {
  if (!server || server.proc.exitCode !== null) return;
  server.proc.kill("SIGTERM");
  const code = await Promise.race([server.proc.exited, Bun.sleep(15_000).then(() => null)]);
  if (code === null) server.proc.kill("SIGKILL");
}

async function run(
  cwd: string,
  cmd: string,
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn(["bash", "-c", cmd], {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await within(
    `\`${cmd}\``,
    Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]),
    STEP_TIMEOUT_MS,
  );
  return { code, out: out + err };
}

async function login(url: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  check(res.status === 200, `login as ${email} answered ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function connect(url: string, token: string): Promise<Socket> {
  const socket = io(url, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });
  await within(
    "the socket's connection",
    new Promise<void>((done, fail) => {
      socket.once("connected", () => done());
      socket.once("connect_error", fail);
    }),
  );
  return socket;
}

const next = <T>(socket: Socket, event: string, match: (payload: T) => boolean = () => true): Promise<T> =>
  within(
    `the event ${event}`,
    new Promise<T>((done) => {
      const listener = (payload: T) => {
        if (!match(payload)) return;
        socket.off(event, listener);
        done(payload);
      };
      socket.on(event, listener);
    }),
  );

// ── the walk-through ────────────────────────────────────────────────────────────────────────────

const results: { name: string; ok: boolean; detail: string }[] = [];
async function step(name: string, body: () => Promise<string | undefined>): Promise<void> {
  try {
    const detail = (await body()) ?? "";
    results.push({ name, ok: true, detail });
    console.log(`✓ ${name}${detail ? `  (${detail})` : ""}`);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    results.push({ name, ok: false, detail });
    console.log(`✗ ${name}: ${detail}`);
  }
}

const scratch = mkdtempSync(join(tmpdir(), "sb-quickstart-"));
const clone = join(scratch, "switchboard");
let server: Server | undefined;
let password = "";
let bannerToken = "";
let demoConversation = "";
const packageJson = () =>
  JSON.parse(readFileSync(join(clone, "package.json"), "utf8")) as { scripts: Record<string, string> };

try {
  await step("a fresh clone", async () => {
    const head = (await run(ROOT, "git rev-parse HEAD")).out.trim();
    const cloned = await run(
      scratch,
      `git clone --quiet --no-checkout ${ROOT} switchboard && git -C switchboard checkout --quiet ${head}`,
    );
    check(cloned.code === 0, cloned.out);
    return head.slice(0, 7);
  });

  await step("bun install && bun run start: the server, demo data and a printed login", async () => {
    shown("bun install && bun run start   # the server on http://127.0.0.1:8000");
    const install = await run(clone, "bun install");
    check(install.code === 0, `bun install failed: ${install.out}`);
    const port = await freePort();
    server = await startServer(clone, "bun run start", { PORT: String(port) });
    check(server.url === `http://127.0.0.1:${port}`, `the banner names ${server.url}`);
    for (const user of ["admin@demo.local", "agent@demo.local"])
      check(server.banner.includes(user), `no ${user} in the banner`);
    password = /password: (\S+)/.exec(server.banner)?.[1] ?? "";
    bannerToken = /Access token[^\n]*\n\s+(\S+)/.exec(server.banner)?.[1] ?? "";
    check(password && bannerToken, "the banner has no password or token");
    check(existsSync(join(clone, "data")), "./data was not created");
    return server.url;
  });

  await step("open the inbox and log in as agent@demo.local: the demo conversation is there", async () => {
    check(server, "no server");
    shown("log in as `agent@demo.local` with the printed");
    const page = await fetch(`${server.url}/`);
    check(page.status === 200 && (await page.text()).includes("/app.js"), `GET / answered ${page.status}`);
    check((await fetch(`${server.url}/app.js`)).status === 200, "GET /app.js failed");
    const token = await login(server.url, "agent@demo.local", password);
    const list = (await (
      await fetch(`${server.url}/api/v1/conversations`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as {
      data: { id: string }[];
    };
    check(list.data.length === 1, `the agent sees ${list.data.length} conversations`);
    demoConversation = list.data[0]!.id;
    const messages = (await (
      await fetch(`${server.url}/api/v1/conversations/${demoConversation}/messages`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as { data: { direction: string }[] };
    check(
      messages.data.some((m) => m.direction === "inbound"),
      "no first message from a customer",
    );
    return undefined;
  });

  await step(
    'bun run simulate -- --from +15550001111 --name "Maria" "Hello": her conversation appears live',
    async () => {
      check(server, "no server");
      const command = 'bun run simulate -- --from +15550001111 --name "Maria" "Hello"';
      shown(command);
      check(
        packageJson().scripts.simulate,
        "package.json has no simulate script (the README shows `bun run simulate`)",
      );
      const agent = await connect(server.url, await login(server.url, "agent@demo.local", password));
      try {
        const updated = next<{ contact: { name: string | null } }>(
          agent,
          "conversation:updated",
          (c) => c.contact.name === "Maria",
        );
        const simulated = await run(clone, command, { PORT: new URL(server.url).port });
        check(simulated.code === 0, `exit ${simulated.code}: ${simulated.out.trim()}`);
        await updated;
      } finally {
        agent.close();
      }
      const token = await login(server.url, "agent@demo.local", password);
      const list = (await (
        await fetch(`${server.url}/api/v1/conversations?view=queue`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).json()) as {
        data: { contact: { name: string | null }; status: string }[];
      };
      // The README promises the Queue tab, not the top row: WhatsApp timestamps are whole seconds, so
      // a message answered in the same second may sort above her.
      check(
        list.data.some((c) => c.contact.name === "Maria" && c.status === "queued"),
        "Maria's conversation is not in the agent's queue",
      );
      return undefined;
    },
  );

  await step("answer: the ticks go pending → sent → delivered → read", async () => {
    check(server, "no server");
    shown("then ✓ sent, ✓✓ delivered and");
    const token = await login(server.url, "agent@demo.local", password);
    const agent = await connect(server.url, token);
    try {
      await agent.emitWithAck("join_conversation", { conversation_id: demoConversation });
      const statuses: string[] = [];
      const read = next<{ status: string }>(agent, "message:status", (s) => {
        statuses.push(s.status);
        return s.status === "read";
      });
      const sent = await fetch(`${server.url}/api/v1/conversations/${demoConversation}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ content: { text: "Hello from the quick start" } }),
      });
      check(sent.status === 201, `sending answered ${sent.status}`);
      check(
        ((await sent.json()) as { message: { status: string } }).message.status === "pending",
        "not pending first",
      );
      await read;
      check(statuses.join(",") === "sent,delivered,read", `statuses went ${statuses.join(" → ")}`);
    } finally {
      agent.close();
    }
    return undefined;
  });

  await step("type as admin@demo.local: the agent sees “Demo Admin is typing…”", async () => {
    check(server, "no server");
    shown('"Demo Admin is typing…"');
    const agent = await connect(server.url, await login(server.url, "agent@demo.local", password));
    const admin = await connect(server.url, await login(server.url, "admin@demo.local", password));
    try {
      await agent.emitWithAck("join_conversation", { conversation_id: demoConversation });
      await admin.emitWithAck("join_conversation", { conversation_id: demoConversation });
      const typing = next<{ user_name: string; typing: boolean }>(agent, "user_typing", (t) => t.typing);
      admin.emit("typing_start", { conversation_id: demoConversation });
      const seen = await typing;
      check(seen.user_name === "Demo Admin", `the typist is named ${seen.user_name}`);
    } finally {
      agent.close();
      admin.close();
    }
    return undefined;
  });

  await step("curl with the banner's token lists the conversations; /api/docs is served", async () => {
    check(server, "no server");
    const command = 'curl -s http://127.0.0.1:8000/api/v1/conversations -H "authorization: Bearer $TOKEN"';
    shown(command);
    const port = new URL(server.url).port;
    const curl = await run(clone, command.replace(":8000", `:${port}`), { TOKEN: bannerToken });
    check(curl.code === 0, curl.out);
    const body = JSON.parse(curl.out) as { data?: unknown[] };
    check(Array.isArray(body.data) && body.data.length >= 1, `curl printed ${curl.out.slice(0, 200)}`);
    shown("http://127.0.0.1:8000/api/docs");
    check((await fetch(`${server.url}/api/docs`)).status === 200, "GET /api/docs failed");
    return undefined;
  });

  await step("a restart prints the demo users again, and DEMO_PASSWORD=<password> applies", async () => {
    shown("start with `DEMO_PASSWORD=<password> bun run start`");
    await stopServer(server);
    const port = await freePort();
    server = await startServer(clone, "DEMO_PASSWORD=quickstart-password-2 bun run start", {
      PORT: String(port),
    });
    check(server.banner.includes("agent@demo.local"), "the restart banner does not name the demo users");
    await login(server.url, "agent@demo.local", "quickstart-password-2");
    return undefined;
  });

  await step("PORT=3000 bun run start listens on that port", async () => {
    shown("PORT=3000 bun run start");
    await stopServer(server);
    const taken = await new Promise<boolean>((done) => {
      const probe = createServer();
      probe.once("error", () => done(true));
      probe.listen({ host: "127.0.0.1", port: 3000 }, () => probe.close(() => done(false)));
    });
    const port = taken ? await freePort() : 3000;
    server = await startServer(clone, `PORT=${port} bun run start`, {});
    check(server.url === `http://127.0.0.1:${port}`, `listening on ${server.url}`);
    return taken ? `3000 was taken here: used ${port}` : undefined;
  });

  await step("createdb, then DATABASE_URL=… bun run start runs on PostgreSQL", async () => {
    shown("createdb switchboard");
    shown("DATABASE_URL=postgres://postgres@127.0.0.1:5432/switchboard bun run start");
    await stopServer(server);
    const base = new URL(POSTGRES_URL);
    const name = `sb_quickstart_${process.pid}`;
    const pgEnv = {
      PGHOST: base.hostname,
      PGPORT: base.port || "5432",
      PGUSER: decodeURIComponent(base.username) || "postgres",
      PGPASSWORD: decodeURIComponent(base.password),
    };
    const created = await run(clone, `createdb ${name}`, pgEnv);
    if (
      created.code !== 0 &&
      process.env.CI !== "true" &&
      /could not connect|No such file|not found/i.test(created.out)
    )
      return `skipped: PostgreSQL is not reachable (${created.out.trim().split("\n")[0]})`;
    check(created.code === 0, `createdb failed: ${created.out.trim()}`);
    try {
      const url = new URL(POSTGRES_URL);
      url.pathname = `/${name}`;
      server = await startServer(clone, `DATABASE_URL=${url.href} bun run start`, {
        PORT: String(await freePort()),
      });
      check(server.banner.includes("postgres)"), "the banner does not say postgres");
      check(server.banner.includes("Demo data seeded"), "no demo data on the new database");
    } finally {
      await stopServer(server);
      await run(clone, `dropdb --if-exists ${name}`, pgEnv);
    }
    return undefined;
  });

  await step("rm -rf ./data starts over: fresh demo data and a new password", async () => {
    shown("rm -rf ./data");
    await stopServer(server);
    const removed = await run(clone, "rm -rf ./data");
    check(removed.code === 0, removed.out);
    server = await startServer(clone, "bun run start", { PORT: String(await freePort()) });
    check(server.banner.includes("Demo data seeded (first start on an empty database"), "no fresh demo data");
    const fresh = /password: (\S+)/.exec(server.banner)?.[1];
    check(fresh && fresh !== password, "no new password");
    return undefined;
  });

  await step("bun install && bun test is the documented test command", async () => {
    shown("bun install && bun test        # the test suite");
    return "not run here: the whole suite is CI's job (.ci/run)";
  });
} finally {
  await stopServer(server);
  rmSync(scratch, { recursive: true, force: true });
}

const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length - failed.length} of ${results.length} steps do what the README says`);
process.exit(failed.length === 0 ? 0 : 1);
