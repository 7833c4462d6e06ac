/** Command-line options of `bun scripts/load`. */
import { SCENARIOS, type ScenarioName } from "./scenarios/types.ts";
import { TARGETS, type TargetName } from "./target.ts";

export interface CliOptions {
  /** Servers to measure, in turn for each scenario. `--compare` = all four. Default ["switchboard"]. */
  targets: TargetName[];
  /** Scenarios to run, in this order. Default all five ("chat" runs on Switchboard only). */
  scenarios: ScenarioName[];
  /** ~2 minutes instead of ~10: smaller populations, shorter windows, 1 repetition. */
  quick: boolean;
  /** Repetitions for median-and-range figures. Default 3 (1 with --quick). */
  reps: number;
  /** Core the server is pinned to, or null with --no-pin. Default 0. */
  serverCore: number | null;
  /** Core the generator is pinned to, or null with --no-pin. Default 1. */
  generatorCore: number | null;
  /** Results folder. Default bench/results. */
  outDir: string;
  /** Folder for CPU profiles of every server process (`--cpu-prof`); unset: no profiling. */
  profileDir: string | undefined;
  /** Connection counts of the scale scenario; unset: its defaults (1k, 10k, 50k, 100k; quick 1k, 5k). */
  scaleCounts: number[] | undefined;
  /** Connections per loopback destination address in the scale scenario; unset: 90 % of the port range. */
  perAddress: number | undefined;
  /** Rewrite the results block of BENCHMARKS.md with this run's table. */
  updateDoc: boolean;
  /** Databases for the chat scenario. Default ["pglite", "postgres"] (["postgres"] with --quick). */
  chatDatabases: ("pglite" | "postgres")[];
  /** Chat on PostgreSQL: count the server's statements per message (costs CPU: a run of its own). */
  countQueries: boolean;
  /** The chat scenario's fixed rate, messages/s; unset: its default (200). */
  chatRate: number | undefined;
  help: boolean;
}

export const USAGE = `Usage: bun scripts/load [options]
       bun scripts/load cluster [--store redis|postgres|both] [--rooms R] [--members K] [--rate N] [--seconds S]
                          fan-out through 1 node vs 2 nodes over Redis (REDIS_URL) and PostgreSQL
                          (CLUSTER_POSTGRES_URL), with the ratio; exits 1 if any message is lost

  --compare               run every target in turn, side by side: official (socket.io@4.8 on Node),
                          socketio-bun (the same app on @socket.io/bun-engine), switchboard, and
                          bare-bun (the floor: Bun.serve speaking only what the scenarios need)
  --target LIST           comma-separated subset of ${TARGETS.join(",")} (default switchboard)
  --quick                 ~2 minute run: smaller populations, shorter windows, 1 repetition
  --scenarios LIST        comma-separated subset of ${SCENARIOS.join(",")} (default: all)
  --reps N                repetitions per median-and-range figure (default 3, quick 1)
  --server-core N         core for the server (default 0)
  --generator-core N      core for the load generator (default 1)
  --no-pin                do not pin with taskset
  --chat-db LIST          pglite,postgres (default both, quick: postgres; postgres uses TEST_POSTGRES_URL)
  --chat-rate N           chat: the fixed rate in messages/s (default 200; lower on a loaded machine so the
                          server keeps up and CPU per message is measured, not a backlog)
  --count-queries         chat on postgres: also count the server's statements per message (BEGIN and
                          COMMIT included); the counting costs CPU, so compare CPU from runs without it
  --scale-counts LIST     connection counts of the scale scenario (default 1000,10000,50000,100000; quick 1000,5000)
  --per-address N         scale: connections per loopback address 127.0.0.x (default 90 % of the ephemeral port range)
  --out DIR               results folder (default bench/results)
  --update-doc            write this run's table into BENCHMARKS.md
  --profile DIR           CPU-profile every server process (bun/node --cpu-prof) into DIR
  --help                  this text
`;

export function parseArgs(argv: readonly string[]): CliOptions {
  const options: CliOptions = {
    targets: ["switchboard"],
    scenarios: [...SCENARIOS],
    quick: false,
    reps: 0,
    serverCore: 0,
    generatorCore: 1,
    outDir: "bench/results",
    updateDoc: false,
    profileDir: undefined,
    scaleCounts: undefined,
    perAddress: undefined,
    chatDatabases: ["pglite", "postgres"],
    countQueries: false,
    chatRate: undefined,
    help: false,
  };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value`);
    return v;
  };
  let chatDbGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    switch (arg) {
      case "--compare":
        options.targets = [...TARGETS];
        break;
      case "--target":
      case "--targets": {
        const list = value(i++, arg).split(",");
        for (const name of list)
          if (!TARGETS.includes(name as TargetName)) throw new Error(`unknown target ${name}`);
        options.targets = TARGETS.filter((t) => list.includes(t));
        break;
      }
      case "--quick":
        options.quick = true;
        break;
      case "--scenarios": {
        const list = value(i++, arg).split(",");
        for (const s of list)
          if (!SCENARIOS.includes(s as ScenarioName)) throw new Error(`unknown scenario ${s}`);
        options.scenarios = SCENARIOS.filter((s) => list.includes(s));
        break;
      }
      case "--reps":
        options.reps = Math.max(1, Number(value(i++, arg)));
        break;
      case "--server-core":
        options.serverCore = Number(value(i++, arg));
        break;
      case "--generator-core":
        options.generatorCore = Number(value(i++, arg));
        break;
      case "--no-pin":
        options.serverCore = null;
        options.generatorCore = null;
        break;
      case "--chat-db": {
        const list = value(i++, arg).split(",");
        for (const d of list)
          if (d !== "pglite" && d !== "postgres") throw new Error(`unknown database ${d}`);
        options.chatDatabases = list as CliOptions["chatDatabases"];
        chatDbGiven = true;
        break;
      }
      case "--scale-counts": {
        const counts = value(i++, arg).split(",").map(Number);
        if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`${arg} needs whole numbers`);
        options.scaleCounts = counts;
        break;
      }
      case "--per-address": {
        const n = Number(value(i++, arg));
        if (!Number.isInteger(n) || n < 1) throw new Error(`${arg} needs a whole number`);
        options.perAddress = n;
        break;
      }
      case "--out":
        options.outDir = value(i++, arg);
        break;
      case "--profile":
        options.profileDir = value(i++, arg);
        break;
      case "--update-doc":
        options.updateDoc = true;
        break;
      case "--chat-rate": {
        const n = Number(value(i++, arg));
        if (!Number.isFinite(n) || n <= 0) throw new Error(`${arg} needs a positive number`);
        options.chatRate = n;
        break;
      }
      case "--count-queries":
        options.countQueries = true;
        break;
      case "--help":
      case "-h":
        options.help = true;
        break;
      default:
        throw new Error(`unknown option ${arg}`);
    }
  }
  if (options.reps === 0) options.reps = options.quick ? 1 : 3;
  // PGlite's cold start alone takes 10–30 s on a busy core: too much for a 2-minute run.
  if (options.quick && !chatDbGiven) options.chatDatabases = ["postgres"];
  return options;
}
