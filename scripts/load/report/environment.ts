/** The facts a reader needs to judge a run: machine, load, versions, pinning, command. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { machineInfo } from "../proc.ts";

export interface RunInfo {
  runId: string;
  date: string;
  command: string;
  machine: { cores: number; model: string; kernel: string; memGiB: number };
  /** 1-minute load average at start and end: other work on a shared machine shows here. */
  loadAverage: { start: number; end?: number };
  versions: { bun: string; node: string; socketio: string; bunEngine: string; switchboard: string };
  pinning: { server: number | null; generator: number | null; generatorPinned: boolean };
  quick: boolean;
  reps: number;
}

const ROOT = resolve(import.meta.dir, "../../..");

function text(cmd: string[]): string {
  try {
    const out = Bun.spawnSync(cmd, { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
    return out.exitCode === 0 ? out.stdout.toString().trim() : "unknown";
  } catch {
    return "unknown";
  }
}

export function loadAverage(): number {
  return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
}

/** The installed version of a package, from its package.json under node_modules. */
function packageVersion(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(resolve(ROOT, "node_modules", name, "package.json"), "utf8")) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return "unknown";
  }
}

export function collectRunInfo(args: {
  argv: readonly string[];
  serverCore: number | null;
  generatorCore: number | null;
  generatorPinned: boolean;
  quick: boolean;
  reps: number;
}): RunInfo {
  const now = new Date();
  const memKb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  const dirty = text(["git", "status", "--porcelain", "--", "protocol", "scripts/load"]) !== "";
  return {
    runId: now.toISOString().replace(/[:.]/g, "-").slice(0, 19),
    date: now.toISOString(),
    command: ["bun", "scripts/load", ...args.argv].join(" "),
    machine: { ...machineInfo(), memGiB: Math.round(memKb / 1024 / 1024) },
    loadAverage: { start: loadAverage() },
    versions: {
      bun: Bun.version,
      node: text(["node", "--version"]),
      socketio: packageVersion("socket.io"),
      bunEngine: packageVersion("@socket.io/bun-engine"),
      switchboard: `${text(["git", "rev-parse", "--short", "HEAD"])}${dirty ? "+uncommitted" : ""}`,
    },
    pinning: {
      server: args.serverCore,
      generator: args.generatorCore,
      generatorPinned: args.generatorPinned,
    },
    quick: args.quick,
    reps: args.reps,
  };
}
