/**
 * `bun scripts/load/efficiency.ts [--targets LIST] [--rounds N] [--shapes 10x100,50x20] [--rate N]
 *  [--app NAME=PATH ...] [--profile DIR]`: only the fan-out efficiency figure (server CPU µs per
 * delivery at a fixed rate), for several servers interleaved in one run — every target keeps its
 * clients open and the rounds alternate target by target, shape by shape, so drift from other work
 * on a shared machine hits every target alike. Prints each step and then the median per target and
 * shape with its ratio to bare-bun. A few minutes instead of the full scenario's capacity search.
 *
 * `--app NAME=PATH` adds a Bun app as one more target (e.g. an older checkout of
 * apps/switchboard.ts, to measure before and after a change in the same run).
 */
import { pinProcess, raiseFdLimit } from "./proc.ts";
import { FanoutRig, type StepResult } from "./scenarios/rig.ts";
import { round, spread } from "./stats.ts";
import { FD_LIMIT, type RunningTarget, startTarget, stopAllTargets, TARGET_COMMANDS } from "./target.ts";

interface Options {
  targets: string[];
  apps: Record<string, string[]>;
  rounds: number;
  shapes: { rooms: number; members: number }[];
  rate: number;
  profileDir: string | undefined;
}

const USAGE = `bun scripts/load/efficiency.ts [--targets switchboard,bare-bun,socketio-bun] [--rounds 3]
  [--shapes 10x100,50x20] [--rate 40000] [--app NAME=PATH ...] [--profile DIR]`;

function parse(argv: string[]): Options {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    process.exit(0);
  }
  const o: Options = {
    targets: ["switchboard", "bare-bun", "socketio-bun"],
    apps: {},
    rounds: 3,
    shapes: [
      { rooms: 10, members: 100 },
      { rooms: 50, members: 20 },
    ],
    rate: 40_000,
    profileDir: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const v = argv[++i];
    if (v === undefined) fail(`${arg} needs a value`);
    if (arg === "--targets") o.targets = v.split(",");
    else if (arg === "--rounds") o.rounds = Number(v);
    else if (arg === "--rate") o.rate = Number(v);
    else if (arg === "--profile") o.profileDir = v;
    else if (arg === "--shapes")
      o.shapes = v.split(",").map((s) => {
        const [rooms, members] = s.split("x").map(Number);
        return { rooms: rooms!, members: members! };
      });
    else if (arg === "--app") {
      const [name, path] = v.split("=");
      o.apps[name!] = [process.execPath, path!];
      if (!o.targets.includes(name!)) o.targets.push(name!);
    } else fail(`unknown option ${arg}`);
  }
  return o;
}

/** A bad command line: one line and the usage, no stack trace. */
function fail(problem: string): never {
  console.error(`efficiency: ${problem}\n${USAGE}`);
  process.exit(2);
}

const options = parse(process.argv.slice(2));
const commands: Record<string, string[]> = { ...TARGET_COMMANDS, ...options.apps };
pinProcess(process.pid, 1);
raiseFdLimit(process.pid, FD_LIMIT);
const stepOptions = { warmupMs: 1_000, measureMs: 3_000, payloadBytes: 64 };
const key = (target: string, shape: { rooms: number; members: number }) =>
  `${target} ${shape.rooms}×${shape.members}`;

const servers = new Map<string, RunningTarget>();
const rigs = new Map<string, FanoutRig>();
const results = new Map<string, StepResult[]>();
try {
  for (const target of options.targets) {
    const command = commands[target];
    if (!command) throw new Error(`unknown target ${target}`);
    // Profiles sample every 100 µs (Bun's default of 1 ms sees too few broadcasts to rank them).
    const [runtime, ...rest] = command;
    const profiled = options.profileDir
      ? [
          runtime!,
          "--cpu-prof",
          "--cpu-prof-interval=100",
          `--cpu-prof-dir=${options.profileDir}/${target}`,
          ...rest,
        ]
      : command;
    const server = await startTarget(target, profiled, { core: 0 });
    servers.set(target, server);
    for (const shape of options.shapes) {
      const rig = new FanoutRig({ baseUrl: server.baseUrl, ...shape, transport: "websocket" });
      await rig.open();
      // Warm-up (JIT, buffers), discarded.
      await rig.step({ ...stepOptions, deliveriesPerSec: options.rate, serverPid: server.pid });
      rigs.set(key(target, shape), rig);
      results.set(key(target, shape), []);
    }
  }
  for (let round_ = 1; round_ <= options.rounds; round_++) {
    for (const shape of options.shapes) {
      for (const target of options.targets) {
        const k = key(target, shape);
        const s = await rigs.get(k)!.step({
          ...stepOptions,
          deliveriesPerSec: options.rate,
          serverPid: servers.get(target)!.pid,
        });
        results.get(k)!.push(s);
        process.stderr.write(
          `round ${round_} ${k}: ${s.serverUsPerDelivery} µs/delivery (user ${s.serverUserUsPerDelivery}, sys ${s.serverSysUsPerDelivery}), ` +
            `CPU ${s.serverCpu}%, wait ${s.serverWait}%, p99 ${s.latency.p99} ms${s.lost ? `, LOST ${s.lost}` : ""}\n`,
        );
      }
    }
  }
  const lines = [
    "| shape | target | µs/delivery median (min–max) | user µs | × bare-bun |",
    "|---|---|---|---|---|",
  ];
  for (const shape of options.shapes) {
    const floor = results.get(key("bare-bun", shape));
    const floorUs = floor ? spread(floor.map((s) => s.serverUsPerDelivery)).median : undefined;
    for (const target of options.targets) {
      const runs = results.get(key(target, shape))!;
      const us = spread(runs.map((s) => s.serverUsPerDelivery));
      const user = spread(runs.map((s) => s.serverUserUsPerDelivery));
      lines.push(
        `| ${shape.rooms}×${shape.members} | ${target} | ${us.median} (${us.min}–${us.max}) | ${user.median} | ${
          floorUs ? round(us.median / floorUs, 2) : "–"
        } |`,
      );
    }
  }
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  for (const rig of rigs.values()) await rig.close().catch(() => {});
  await stopAllTargets();
}
process.exit(0);
