/**
 * Helpers of the cluster suites: child processes (the official socket.io node, the official
 * emitter, a private redis-server), free ports and bounded waits.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary, requireBinary } from "../support/services.ts";

export const FIXTURES = join(import.meta.dir, "fixtures");

/** Resolves when `check` is true; rejects after `timeoutMs`, naming what it waited for. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** A promise that rejects after `ms` unless `promise` settles first. */
export function within<T>(what: string, promise: Promise<T>, ms = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A TCP port nobody listens on right now (for servers that cannot bind port 0 themselves). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Reads newline-delimited JSON from a child's stdout. */
function jsonLines(child: ChildProcess, onLine: (value: Record<string, unknown>) => void): void {
  let buffered = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith("{")) onLine(JSON.parse(line));
    }
  });
}

/** The official socket.io 4.8 server with @socket.io/redis-adapter (fixtures/official-node.cjs). */
export class OfficialNode {
  readonly serverSideEvents: { nsp: string; args: unknown[] }[] = [];
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  /** `shardedMode`: run `createShardedAdapter` in that subscription mode on the Redis Cluster `redisUrl` is in. */
  static async start(redisUrl: string, key = "socket.io", shardedMode?: string): Promise<OfficialNode> {
    const args = [join(FIXTURES, "official-node.cjs"), redisUrl, key, ...(shardedMode ? [shardedMode] : [])];
    const child = spawn("node", args, {
      stdio: ["pipe", "pipe", "inherit"],
    });
    let node: OfficialNode | undefined;
    const ready = new Promise<number>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`official node exited with ${code}`)));
      jsonLines(child, (msg) => {
        if (typeof msg.ready === "number") resolve(msg.ready);
        else if (msg.event === "server-side")
          node?.serverSideEvents.push({ nsp: String(msg.nsp), args: msg.args as unknown[] });
        else node?.settle(msg);
      });
    });
    const port = await within("official node start", ready, 10_000);
    node = new OfficialNode(child, port);
    return node;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Runs one operation in the official server (see the fixture's `ops`). */
  run<T = unknown>(op: string, args: Record<string, unknown> = {}, timeoutMs = 5000): Promise<T> {
    const id = this.nextId++;
    const answer = new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    this.child.stdin?.write(`${JSON.stringify({ id, op, ...args })}\n`);
    return within(`official node ${op}`, answer, timeoutMs);
  }

  stop(): void {
    this.child.stdin?.end();
    this.child.kill("SIGKILL");
  }

  private settle(msg: Record<string, unknown>): void {
    const entry = this.waiting.get(Number(msg.id));
    if (!entry) return;
    this.waiting.delete(Number(msg.id));
    if (msg.error !== undefined) entry.reject(new Error(String(msg.error)));
    else entry.resolve(msg.result);
  }
}

/** Runs the official emitter in its own Node.js process (fixtures/emitter.cjs) and waits for it. */
export async function runEmitter(
  redisUrl: string,
  key: string,
  commands: Record<string, unknown>[],
): Promise<void> {
  const child = spawn("node", [join(FIXTURES, "emitter.cjs"), redisUrl, key, JSON.stringify(commands)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const code = await within(
    "emitter process",
    new Promise<number | null>((resolve) => child.once("exit", resolve)),
    10_000,
  );
  if (code !== 0) throw new Error(`emitter exited with ${code}`);
}

/** A private redis-server the test can stop and restart (fault tests). */
export class PrivateRedis {
  private child: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    this.child = spawn(
      findBinary("redis-server") ?? "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      {
        stdio: "ignore",
      },
    );
    await waitFor("redis-server to accept connections", () => canConnect(this.port), 5000);
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered until resume(). */
  pause(): void {
    this.child?.kill("SIGSTOP");
  }

  resume(): void {
    this.child?.kill("SIGCONT");
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await within("redis-server exit", exited, 5000);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (s) => {
          s.end();
          resolve(true);
        },
        data: () => {},
        error: () => resolve(false),
        connectError: () => resolve(false),
      },
    });
    socket.catch(() => resolve(false));
  });
}

/** A key prefix no other suite or run uses, so suites sharing the machine's Redis never cross. */
export function uniqueKey(name: string): string {
  return `sb-test-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A Switchboard node in its own process (fixtures/switchboard-node.ts). */
export class SwitchboardProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly nodeId: string,
    readonly internal: string,
  ) {}

  /** `fixture`: another node program of fixtures/ printing the same ready line. */
  static async start(
    env: Record<string, string>,
    fixture = "switchboard-node.ts",
  ): Promise<SwitchboardProcess> {
    const child = spawn(process.execPath, [join(FIXTURES, fixture)], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "error", ...env },
    });
    const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`switchboard node exited with ${code}`)));
      jsonLines(child, (msg) => {
        if (typeof msg.ready === "number") resolve(msg);
      });
    });
    const msg = await within("switchboard node start", ready, 15_000);
    return new SwitchboardProcess(child, Number(msg.ready), String(msg.nodeId), String(msg.internal));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** SIGKILL: no goodbye to Redis or clients. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGKILL");
    await within("node exit", exited, 5000);
  }
}

const NGINX_BIN = findBinary("nginx");
const DEPLOYMENT_DOC = join(import.meta.dir, "..", "..", "docs", "deployment.md");

/** True when nginx is installed; throws in CI (which installs it), warns and returns false elsewhere. */
export function hasNginx(): boolean {
  return requireBinary("nginx", "apt-get install nginx-light") !== null;
}

/** docs/deployment.md's round-robin nginx block, listening on `listenPort`, balancing over `upstreamPorts`. */
export function readmeNginxConfig(listenPort: number, upstreamPorts: number[]): string {
  const readme = readFileSync(DEPLOYMENT_DOC, "utf8");
  const section = readme.slice(
    readme.indexOf("<!-- section:deployment -->"),
    readme.indexOf("<!-- /section:deployment -->"),
  );
  const blocks = [...section.matchAll(/```nginx\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
  const block = blocks.find(
    (b) => b.includes("upstream switchboard") && b.includes("listen ") && !b.includes("ip_hash"),
  );
  if (!block) throw new Error("docs/deployment.md's deployment section has no round-robin nginx block");
  const servers = upstreamPorts.map((port) => `server 127.0.0.1:${port};`).join("\n    ");
  return block
    .replace(/server 127\.0\.0\.1:8001;\s*server 127\.0\.0\.1:8002;/, servers)
    .replace(/listen 8000;/, `listen 127.0.0.1:${listenPort};`);
}

/** A real nginx with docs/deployment.md's configuration, in a private prefix directory. */
export class Nginx {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly url: string,
  ) {}

  static async start(upstreamPorts: number[]): Promise<Nginx> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "sb-nginx-"));
    const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"];
    for (const sub of temps) mkdirSync(join(dir, sub));
    const conf = [
      "worker_processes 1;",
      `error_log ${dir}/error.log warn;`,
      `pid ${dir}/nginx.pid;`,
      "events { worker_connections 1024; }",
      "http {",
      "  access_log off;",
      ...temps.map((sub) => `  ${sub}_temp_path ${dir}/${sub};`),
      readmeNginxConfig(port, upstreamPorts),
      "}",
    ].join("\n");
    writeFileSync(join(dir, "nginx.conf"), conf);
    // stdio ignored: nginx's workers would otherwise hold the test runner's pipes; errors go to error.log.
    const child = spawn(
      NGINX_BIN as string,
      ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"],
      {
        stdio: "ignore",
      },
    );
    const nginx = new Nginx(child, dir, `http://127.0.0.1:${port}`);
    await waitFor(
      "nginx to answer",
      async () =>
        (await fetch(`${nginx.url}/socket.io/?EIO=4&transport=polling`).catch(() => null))?.status === 200,
      10_000,
    );
    return nginx;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      // SIGTERM is nginx's fast shutdown: the master stops its workers, then exits (SIGKILL would orphan them).
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      this.child.kill("SIGTERM");
      await within("nginx exit", exited, 5000).catch(() => this.child.kill("SIGKILL"));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
