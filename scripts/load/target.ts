/**
 * Starting and stopping the server under test: each scenario gets a fresh process, pinned to its
 * own core, with a raised descriptor limit, announcing its port as one JSON line on stdout.
 */
import { resolve } from "node:path";
import { pinProcess, raiseFdLimit, readRssKb } from "./proc.ts";

/**
 * The servers under test, in the order `--compare` runs and reports them:
 * - `official`: socket.io@4.8 on Node.js (engine.io + `ws`), the baseline;
 * - `socketio-bun`: the same socket.io app on Bun through @socket.io/bun-engine, the closest peer;
 * - `switchboard`: this repository's protocol/;
 * - `bare-bun`: a bare Bun.serve server speaking only what the scenarios need (websocket only), the floor.
 */
export type TargetName = "official" | "socketio-bun" | "switchboard" | "bare-bun";
export const TARGETS: readonly TargetName[] = ["official", "socketio-bun", "switchboard", "bare-bun"];

const APPS_DIR = resolve(import.meta.dir, "apps");

/** The command line of each benchmark app (same behaviour, four servers). */
export const TARGET_COMMANDS: Record<TargetName, string[]> = {
  official: ["node", resolve(APPS_DIR, "official.cjs")],
  "socketio-bun": [process.execPath, resolve(APPS_DIR, "socketio-bun.ts")],
  switchboard: [process.execPath, resolve(APPS_DIR, "switchboard.ts")],
  "bare-bun": [process.execPath, resolve(APPS_DIR, "bare-bun.ts")],
};

/**
 * Whether a target can run a scenario: the floor speaks websocket only (no polling), and the chat
 * backend exists on Switchboard only.
 */
export function targetRuns(target: TargetName, scenario: string): boolean {
  if (scenario === "chat") return target === "switchboard";
  if (scenario === "polling") return target !== "bare-bun";
  return true;
}

/** The chat backend (scenario `chat`, Switchboard only). */
export const CHAT_COMMAND = [process.execPath, resolve(APPS_DIR, "chat.ts")];

/** How long a server gets to print its ready line by default (the chat app asks for more). */
const READY_TIMEOUT_MS = 30_000;
/** How long a server gets to exit after SIGTERM before SIGKILL. */
const STOP_TIMEOUT_MS = 3_000;
/** Descriptor limit set on the server and the generator (100k connections of `scale` plus slack). */
export const FD_LIMIT = 262_144;

export interface TargetOptions {
  /** Core the server is pinned to; null leaves it unpinned. Default 0. */
  core: number | null;
  /** Extra environment for the server. */
  env?: Record<string, string>;
  /** How long the server gets to print its ready line. Default 30,000 ms. */
  readyTimeoutMs?: number;
  /** Write a CPU profile of the server here (`--cpu-prof`, Bun and Node alike) when it exits. */
  profileDir?: string;
}

/** The command with the runtime's CPU-profiling flags inserted after the executable. */
export function withProfiling(command: string[], dir: string | undefined): string[] {
  if (!dir) return command;
  const [runtime, ...rest] = command;
  return [runtime!, "--cpu-prof", `--cpu-prof-dir=${dir}`, ...rest];
}

/** The JSON line an app prints once it listens; apps may add fields (the chat app does). */
export type ReadyLine = { ready: true; port: number } & Record<string, unknown>;

export interface RunningTarget {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly baseUrl: string;
  /** Whether taskset accepted the pinning. */
  readonly pinned: boolean;
  /** Everything the app announced in its ready line. */
  readonly ready: ReadyLine;
  rssKb(): number;
  stop(): Promise<void>;
}

/** Read lines from a stream until one parses as JSON with `ready: true`. */
async function waitForReady(stream: ReadableStream<Uint8Array>): Promise<ReadyLine> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited before it was ready; output: ${buffered.slice(-500)}`);
    buffered += decoder.decode(value, { stream: true });
    for (const line of buffered.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        const parsed = JSON.parse(line) as Partial<ReadyLine>;
        if (parsed.ready && parsed.port) {
          // Keep draining stdout so a chatty server never blocks on a full pipe.
          void (async () => {
            for (;;) if ((await reader.read()).done) return;
          })();
          return parsed as ReadyLine;
        }
      } catch {}
    }
  }
}

/** Servers started and not yet stopped, so an interrupted run can take them down with it. */
const live = new Set<RunningTarget>();

/** Stop every server this process started (on SIGINT/SIGTERM of the benchmark). */
export async function stopAllTargets(): Promise<void> {
  await Promise.all([...live].map((t) => t.stop()));
}

export async function startTarget(
  name: string,
  command: string[],
  options: TargetOptions,
): Promise<RunningTarget> {
  const proc = Bun.spawn(withProfiling(command, options.profileDir), {
    stdout: "pipe",
    stderr: "inherit",
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "warn", ...options.env },
  });
  // Pin and raise limits before the first connection; the app has not listened yet.
  const pinned = options.core === null ? false : pinProcess(proc.pid, options.core);
  raiseFdLimit(proc.pid, FD_LIMIT);
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${name} was not ready in ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
  });
  let ready: ReadyLine;
  try {
    ready = await Promise.race([waitForReady(proc.stdout), timeout]);
  } catch (err) {
    proc.kill("SIGKILL");
    throw err;
  } finally {
    clearTimeout(timer);
  }
  // Threads started after the first pinning (JIT, GC helpers) inherit it, but re-pin to be sure.
  if (pinned && options.core !== null) pinProcess(proc.pid, options.core);
  const target: RunningTarget = {
    name,
    pid: proc.pid,
    port: ready.port,
    baseUrl: `http://127.0.0.1:${ready.port}`,
    pinned,
    ready,
    rssKb: () => readRssKb(proc.pid),
    async stop() {
      live.delete(target);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const exited = await Promise.race([
        proc.exited.then(() => true),
        Bun.sleep(STOP_TIMEOUT_MS).then(() => false),
      ]);
      if (!exited) {
        proc.kill("SIGKILL");
        await proc.exited;
      }
    },
  };
  live.add(target);
  return target;
}
