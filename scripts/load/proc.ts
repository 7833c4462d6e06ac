/**
 * What the benchmark reads from Linux: a process's RSS and CPU time from /proc, and the pinning
 * and file-descriptor limits it sets with util-linux (taskset, prlimit).
 */
import { readFileSync } from "node:fs";

/** Kernel clock ticks per second for /proc/<pid>/stat times (`getconf CLK_TCK`; 100 on Linux x86). */
const CLK_TCK = 100;

/** Resident set size of a process in KiB (VmRSS of /proc/<pid>/status). */
export function readRssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return match ? Number(match[1]) : 0;
}

/** User + system CPU time of a process (all its threads) in seconds. */
export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may contain spaces; fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** User and system CPU time of a process in seconds, apart (fields 14 and 15 of /proc/<pid>/stat). */
export function readCpuSplit(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]) / CLK_TCK, system: Number(fields[12]) / CLK_TCK };
}

/**
 * Seconds the main thread of a process spent runnable but waiting for a CPU (field 2 of
 * /proc/<pid>/schedstat). On a shared machine this is the noise: other work held the core.
 */
export function readRunQueueWaitSeconds(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[1]) / 1e9;
  } catch {
    return 0;
  }
}

/**
 * Percent of one core a process used between `start()` and `stop()`, and the percent of that
 * wall time its main thread waited for a CPU (`waitPercent`). /proc times have a 10 ms resolution,
 * so windows shorter than a second are coarse.
 */
export class CpuMeter {
  private cpu0 = 0;
  private wait0 = 0;
  private wall0 = 0;
  /** Run-queue wait of the main thread over the last window, percent of wall time. */
  waitPercent = 0;
  /** CPU seconds used over the last window. */
  cpuSeconds = 0;

  constructor(
    private readonly read: () => number,
    private readonly readWait: () => number,
  ) {}

  /** Meter for another process, read from /proc. */
  static forPid(pid: number): CpuMeter {
    return new CpuMeter(
      () => readCpuSeconds(pid),
      () => readRunQueueWaitSeconds(pid),
    );
  }

  /** Meter for this process (the generator), from the runtime's own accounting. */
  static self(): CpuMeter {
    return new CpuMeter(
      () => {
        const { user, system } = process.cpuUsage();
        return (user + system) / 1e6;
      },
      () => readRunQueueWaitSeconds(process.pid),
    );
  }

  start(): void {
    this.cpu0 = this.read();
    this.wait0 = this.readWait();
    this.wall0 = performance.now();
  }

  /** CPU percent of one core since `start()`. */
  stop(): number {
    const seconds = (performance.now() - this.wall0) / 1000;
    if (seconds <= 0) return 0;
    this.waitPercent = ((this.readWait() - this.wait0) / seconds) * 100;
    this.cpuSeconds = this.read() - this.cpu0;
    return (this.cpuSeconds / seconds) * 100;
  }
}

function run(cmd: string[]): boolean {
  try {
    return Bun.spawnSync(cmd, { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
  } catch {
    return false;
  }
}

/** Pin every thread of a running process to one core. False when taskset is missing or refused. */
export function pinProcess(pid: number, core: number): boolean {
  return run(["taskset", "-a", "-p", "-c", String(core), String(pid)]);
}

/**
 * Raise the open-file limit of a running process (every connection needs a descriptor on each
 * side). Raising the hard limit needs root (CAP_SYS_RESOURCE), and some sandboxes refuse it even
 * to root; then the soft limit is raised as far as the hard one allows. True when `limit` was reached.
 */
export function raiseFdLimit(pid: number, limit: number): boolean {
  if (run(["prlimit", `--pid=${pid}`, `--nofile=${limit}:${limit}`])) return true;
  const { hard } = readFdLimits(pid);
  run(["prlimit", `--pid=${pid}`, `--nofile=${Math.min(limit, hard)}:${hard}`]);
  return hard >= limit;
}

/** The open-file soft and hard limits of a process, from /proc/<pid>/limits. */
export function readFdLimits(pid: number): { soft: number; hard: number } {
  const limits = readFileSync(`/proc/${pid}/limits`, "utf8");
  const match = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(limits);
  const value = (v: string | undefined) => (v === undefined ? 0 : v === "unlimited" ? Infinity : Number(v));
  return { soft: value(match?.[1]), hard: value(match?.[2]) };
}

/** The open-file soft limit of a process. */
export function readFdLimit(pid: number): number {
  return readFdLimits(pid).soft;
}

/** Number of online cores and the CPU model, for the report header. */
export function machineInfo(): { cores: number; model: string; kernel: string } {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  return { cores, model, kernel };
}
