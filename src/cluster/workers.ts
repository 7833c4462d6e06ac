/**
 * `--workers N`: N processes of the same server on one port. The supervisor spawns N copies of the
 * command with `REUSE_PORT=1` (each binds the public port with SO_REUSEPORT and the kernel spreads
 * connections over them), restarts a worker that dies (with a growing delay), and stops them all
 * on SIGTERM/SIGINT. Workers are ordinary cluster nodes: they share rooms through the cluster store
 * (Redis or PostgreSQL) and forward polling requests to each other through their private internal
 * ports, so a cluster store is required (REDIS_URL, or CLUSTER / CLUSTER_URL);
 * a CLUSTER_SECRET is generated for them when none is given.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { createLogger } from "../../protocol/logger.ts";

const log = createLogger("workers");

export interface WorkersOptions {
  /** How many workers. */
  count: number;
  /** The worker command: executable and arguments (without `--workers`). */
  command: string[];
  /** Environment of the workers. Default process.env. */
  env?: Record<string, string | undefined>;
  /** First restart delay after a crash, doubled per consecutive crash of that worker, in ms. Default 500. */
  restartDelayMs?: number;
  /** Longest restart delay, in ms. Default 15000. */
  maxRestartDelayMs?: number;
  /**
   * Resolves true once the first worker is serving. When given, the other workers start only then
   * (or after `firstWorkerTimeoutMs`): the first one alone runs the database migrations and the
   * demo seed, which must not race. Default: all start at once.
   */
  firstWorkerReady?: () => Promise<boolean>;
  /** Longest wait for the first worker, in ms. Default 120000. */
  firstWorkerTimeoutMs?: number;
}

export const WORKERS_DEFAULTS = {
  restartDelayMs: 500,
  maxRestartDelayMs: 15_000,
  firstWorkerTimeoutMs: 120_000,
} as const;
const READY_POLL_MS = 200;
/** A worker that lived this long before dying is considered healthy: its delay starts over. */
const STABLE_AFTER_MS = 10_000;

/** The N of `--workers N` / `--workers=N`, null when absent. Throws on a bad value. */
export function parseWorkersFlag(argv: readonly string[]): number | null {
  const at = argv.findIndex((a) => a === "--workers" || a.startsWith("--workers="));
  if (at < 0) return null;
  const arg = argv[at] as string;
  const raw = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : argv[at + 1];
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--workers needs a positive integer, got "${raw ?? ""}"`);
  return n;
}

/** argv without `--workers N` (what each worker runs). */
export function withoutWorkersFlag(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--workers") i++;
    else if (!arg.startsWith("--workers=")) out.push(arg);
  }
  return out;
}

/** Why a worker setup cannot run, or null when it can. */
export function workersProblem(env: Record<string, string | undefined>): string | null {
  if (!env.REDIS_URL && !env.CLUSTER && !env.CLUSTER_URL)
    return "--workers needs a cluster store (REDIS_URL, or CLUSTER=redis|redis-sharded|postgres / CLUSTER_URL): workers share rooms and sessions through it";
  if (env.PORT === "0") return "--workers needs a fixed PORT: workers share it";
  if (!env.DATABASE_URL)
    return "--workers needs DATABASE_URL (PostgreSQL): the embedded database serves one process";
  return null;
}

export interface Supervisor {
  /** Live worker processes (for tests). */
  readonly workers: readonly (ChildProcess | undefined)[];
  /** Stops every worker (SIGTERM) and resolves when all exited. */
  stop(): Promise<void>;
}

export function runWorkers(options: WorkersOptions): Supervisor {
  const env: Record<string, string | undefined> = { ...(options.env ?? process.env), REUSE_PORT: "1" };
  // Workers forward polling requests to each other: they need a shared secret even if none was set.
  env.CLUSTER_SECRET ??= randomBytes(24).toString("base64url");
  const base = options.restartDelayMs ?? WORKERS_DEFAULTS.restartDelayMs;
  const max = options.maxRestartDelayMs ?? WORKERS_DEFAULTS.maxRestartDelayMs;
  const workers: (ChildProcess | undefined)[] = new Array(options.count).fill(undefined);
  const delays: number[] = new Array(options.count).fill(base);
  let stopping = false;

  const start = (index: number) => {
    const [cmd, ...args] = options.command;
    const startedAt = Date.now();
    const child = spawn(cmd as string, args, {
      stdio: "inherit",
      env: { ...env, WORKER_INDEX: String(index) },
    });
    workers[index] = child;
    log.info("worker started", { worker: index, pid: child.pid });
    child.once("exit", (code, signal) => {
      workers[index] = undefined;
      if (stopping) return;
      if (Date.now() - startedAt > STABLE_AFTER_MS) delays[index] = base;
      const delay = delays[index] ?? base;
      delays[index] = Math.min(max, delay * 2);
      log.error("worker died: restarting", { worker: index, code, signal, restartInMs: delay });
      setTimeout(() => {
        if (!stopping) start(index);
      }, delay);
    });
  };
  start(0);
  const startOthers = () => {
    for (let i = 1; i < options.count; i++) if (!stopping) start(i);
  };
  const ready = options.firstWorkerReady;
  if (!ready) startOthers();
  else {
    const deadline = Date.now() + (options.firstWorkerTimeoutMs ?? WORKERS_DEFAULTS.firstWorkerTimeoutMs);
    const poll = async () => {
      if (stopping) return;
      if ((await ready().catch(() => false)) || Date.now() > deadline) startOthers();
      else setTimeout(poll, READY_POLL_MS);
    };
    void poll();
  }

  const stop = async () => {
    stopping = true;
    await Promise.all(
      workers.map((child) => {
        if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGTERM");
        return exited;
      }),
    );
  };
  return { workers, stop };
}

/**
 * The supervisor side of `bun run start --workers N` (src/main.ts calls it before anything else):
 * checks the setup, runs the workers and exits when they are all gone after SIGTERM/SIGINT.
 */
export async function superviseWorkers(
  count: number,
  argv: readonly string[] = process.argv,
): Promise<never> {
  const problem = workersProblem(process.env);
  if (problem) {
    console.error(problem);
    process.exit(2);
  }
  const port = Number(process.env.PORT ?? 8000);
  const supervisor = runWorkers({
    count,
    command: [process.execPath, ...withoutWorkersFlag(argv.slice(1))],
    // The first worker migrates and seeds the database: the others wait until it listens.
    firstWorkerReady: () => portAnswers(probeHost(process.env.HOST), port),
  });
  log.info("supervising workers", { count, port: process.env.PORT ?? "8000" });
  await new Promise<void>((resolve) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => resolve());
  });
  await supervisor.stop();
  process.exit(0);
}

/** Where to probe a server bound to `host` (a wildcard address is reached on loopback). */
const probeHost = (host: string | undefined): string =>
  !host || host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;

/** True when something accepts TCP connections on host:port. */
export function portAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
