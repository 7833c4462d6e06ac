/**
 * `bun scripts/load/chaos.ts`: the chaos run of issue 14, the same scenario against each target.
 * CLIENTS stock socket.io clients spread over three nodes, each behind a failover balancer that
 * prefers its home node (test/cluster/support/failover-proxy.ts); a broadcast to all of them every
 * INTERVAL ms from a client of node 1; node 0 SIGKILLed once a third of them are sent and each of
 * its clients has received one (an offset to recover from), restarted at two thirds. A client whose session is not recovered joins its room again, as an application
 * would. Reported per target: clients of the killed node recovered (same id) vs fresh sessions,
 * broadcasts missed, duplicated and out of order over every client.
 *
 * Targets:
 *   switchboard  Switchboard nodes (test/cluster/fixtures/switchboard-node.ts, src/cluster), with
 *                connection-state recovery, on --adapter postgres (default; a fresh database),
 *                redis (the machine's Redis, a fresh prefix) or redis-sharded (a Redis Cluster the
 *                run starts unless --redis-cluster-url is given)
 *   official     socket.io 4.8 on Node (apps/chaos-official.cjs) with @socket.io/redis-streams-adapter
 *                and connectionStateRecovery, on the machine's Redis
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import postgres from "postgres";
import { createClient } from "redis";
import { type Socket as ClientSocket, io as connect } from "socket.io-client";
import { RedisCluster } from "../../test/cluster/redis-cluster.ts";
import { type FailoverProxy, startFailoverProxy } from "../../test/cluster/support/failover-proxy.ts";

const ROOT = resolve(import.meta.dir, "../..");
const SWITCHBOARD_NODE = resolve(ROOT, "test/cluster/fixtures/switchboard-node.ts");
const OFFICIAL_NODE = resolve(import.meta.dir, "apps/chaos-official.cjs");

export type ChaosTarget = "switchboard" | "official";
export type ChaosAdapter = "postgres" | "redis" | "redis-sharded";

export interface ChaosOptions {
  target: ChaosTarget;
  /** Switchboard's cluster store. Default postgres. The official target always runs on Redis Streams. */
  adapter?: ChaosAdapter;
  /** Clients over the three nodes. Default 300. */
  clients?: number;
  /** Broadcasts sent. Default 300. */
  ticks?: number;
  /** Pause between broadcasts, ms. Default 10. */
  intervalMs?: number;
  /** Longest wait after the last broadcast for clients to catch up, ms. Default 30000. */
  settleMs?: number;
  postgresUrl?: string;
  redisUrl?: string;
  /** A node of an existing Redis Cluster (redis-sharded); unset: the run starts one. */
  redisClusterUrl?: string;
  log?: (line: string) => void;
}

export interface ChaosResult {
  target: ChaosTarget;
  /** The adapter the nodes ran on. */
  adapter: string;
  clients: number;
  ticks: number;
  /** Clients whose home node was killed. */
  killedClients: number;
  /** Of those, recovered on a survivor (`socket.recovered`, same socket id). */
  recovered: number;
  /** Reconnections of any client that got a fresh session instead. */
  freshSessions: number;
  /** Broadcasts a client never received, summed over clients. */
  missed: number;
  /** Extra copies of a broadcast a client received, summed over clients. */
  duplicated: number;
  /** Receipts of a broadcast older than one received before it, summed over clients. */
  outOfOrder: number;
  /** Clients that received every broadcast exactly once, in order. */
  perfectClients: number;
  /** Clients not connected at the end. */
  disconnected: number;
  durationMs: number;
}

interface ChaosClient {
  socket: ClientSocket;
  home: number;
  firstId: string | undefined;
  ticks: number[];
  connects: number;
  recoveredConnects: number;
  freshReconnects: number;
}

const ROOM = "news";
const within = <T>(what: string, promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)),
  ]);

/** One node process: started from a command, ready when it prints {"ready":PORT}. */
class NodeProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(command: string[], env: Record<string, string>): Promise<NodeProcess> {
    const child = spawn(command[0] as string, command.slice(1), {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "error", ...env },
    });
    const port = await within(
      `${command.join(" ")} start`,
      new Promise<number>((resolvePort, reject) => {
        child.once("exit", (code) => reject(new Error(`${command.join(" ")} exited with ${code}`)));
        let buffered = "";
        child.stdout?.setEncoding("utf8");
        child.stdout?.on("data", (chunk: string) => {
          buffered += chunk;
          const match = /\{"ready":(\d+)/.exec(buffered);
          if (match) resolvePort(Number(match[1]));
        });
      }),
      30_000,
    );
    return new NodeProcess(child, port);
  }

  kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((done) => this.child.once("exit", () => done()));
    this.child.kill("SIGKILL");
    return within("node exit", exited, 10_000);
  }
}

interface Deployment {
  adapter: string;
  command: string[];
  env: Record<string, string>;
  dispose(): Promise<void>;
}

const runId = () => `chaos${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

async function deploy(options: ChaosOptions): Promise<Deployment> {
  const id = runId();
  const redisUrl = options.redisUrl ?? process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
  const recovery = { RECOVERY_MS: "60000" };
  if (options.target === "official") {
    return {
      adapter: "@socket.io/redis-streams-adapter",
      command: ["node", OFFICIAL_NODE],
      env: { REDIS_URL: redisUrl, PREFIX: id, ...recovery },
      dispose: async () => {
        const client = createClient({ url: redisUrl });
        await client.connect();
        const keys = await client.keys(`${id}*`);
        if (keys.length > 0) await client.del(keys);
        await client.close();
      },
    };
  }
  const command = [process.execPath, SWITCHBOARD_NODE];
  const cluster = { CLUSTER_PREFIX: id, CLUSTER_SECRET: "chaos-cluster-secret-0123456789", ...recovery };
  const adapter = options.adapter ?? "postgres";
  if (adapter === "redis")
    return {
      adapter,
      command,
      env: { CLUSTER: "redis", CLUSTER_URL: redisUrl, ...cluster },
      dispose: async () => {},
    };
  if (adapter === "redis-sharded") {
    const started = options.redisClusterUrl ? null : await RedisCluster.start();
    return {
      adapter,
      command,
      env: {
        CLUSTER: "redis-sharded",
        CLUSTER_URL: options.redisClusterUrl ?? (started as RedisCluster).url,
        ...cluster,
      },
      dispose: async () => started?.stop(),
    };
  }
  const adminUrl =
    options.postgresUrl ?? process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${id}`);
  const url = new URL(adminUrl);
  url.pathname = `/${id}`;
  return {
    adapter,
    command,
    env: { CLUSTER: "postgres", CLUSTER_URL: url.toString(), ...cluster },
    dispose: async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${id} WITH (FORCE)`).catch(() => {});
      await admin.end({ timeout: 1 });
    },
  };
}

/** Runs the scenario once against one target and counts what every client received. */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const clientCount = options.clients ?? 300;
  const ticks = options.ticks ?? 300;
  const intervalMs = options.intervalMs ?? 10;
  const settleMs = options.settleMs ?? 30_000;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const deployment = await deploy(options);
  const nodes: NodeProcess[] = [];
  const proxies: FailoverProxy[] = [];
  const clients: ChaosClient[] = [];
  let broadcaster: ClientSocket | undefined;
  const started = performance.now();
  try {
    log(`chaos · ${options.target} on ${deployment.adapter}: ${clientCount} clients, ${ticks} broadcasts`);
    nodes.push(
      ...(await Promise.all([0, 1, 2].map(() => NodeProcess.start(deployment.command, deployment.env)))),
    );
    // Balancer i prefers node i, then the others: a client of a dead node lands on a survivor.
    for (let i = 0; i < 3; i++)
      proxies.push(
        startFailoverProxy([i, (i + 1) % 3, (i + 2) % 3].map((n) => (nodes[n] as NodeProcess).port)),
      );
    for (let i = 0; i < clientCount; i++) {
      const home = i % 3;
      const socket = connect((proxies[home] as FailoverProxy).url, {
        transports: ["websocket"],
        forceNew: true,
        reconnectionDelay: 100,
        reconnectionDelayMax: 500,
        timeout: 10_000,
      });
      const client: ChaosClient = {
        socket,
        home,
        firstId: undefined,
        ticks: [],
        connects: 0,
        recoveredConnects: 0,
        freshReconnects: 0,
      };
      socket.on("tick", (n: number) => client.ticks.push(n));
      socket.on("connect", () => {
        client.connects++;
        if (client.connects === 1) {
          client.firstId = socket.id;
          return;
        }
        if (socket.recovered) client.recoveredConnects++;
        else {
          client.freshReconnects++;
          // A fresh session has no rooms: the application joins again.
          socket.emit("join", ROOM);
        }
      });
      clients.push(client);
    }
    await within(
      "every client connected and in the room",
      Promise.all(clients.map((c) => c.socket.timeout(30_000).emitWithAck("join", ROOM))),
      90_000,
    );
    log("  all clients in the room; broadcasting");
    broadcaster = connect(`http://127.0.0.1:${(nodes[1] as NodeProcess).port}`, {
      transports: ["websocket"],
      forceNew: true,
    });
    const b = broadcaster;
    await within("broadcaster", new Promise((done) => b.once("connect", () => done(null))), 10_000);
    const killAt = Math.floor(ticks / 3);
    const restartAt = Math.floor((2 * ticks) / 3);
    // The broadcasts go on at their pace while node 0 dies and comes back.
    let sent = 0;
    const broadcasting = (async () => {
      for (; sent < ticks; sent++) {
        b.emit("broadcast", ROOM, "tick", sent);
        await Bun.sleep(intervalMs);
      }
    })();
    const until = async (what: string, condition: () => boolean, ms = 60_000) => {
      const deadline = Date.now() + ms;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
        await Bun.sleep(5);
      }
    };
    // Killed once its clients hold an offset to recover from (delivery may lag the sends when the
    // machine is loaded: a node killed before delivering anything has nothing to recover).
    const doomed = clients.filter((c) => c.home === 0);
    await until(`${killAt} broadcasts sent`, () => sent > killAt);
    await until("a broadcast received by every client of node 0", () =>
      doomed.every((c) => c.ticks.length > 0),
    );
    await (nodes[0] as NodeProcess).kill();
    log(`  node 0 killed after ${sent} broadcasts sent`);
    await until(`${restartAt} broadcasts sent`, () => sent > restartAt);
    nodes[0] = await NodeProcess.start(deployment.command, deployment.env);
    log(`  node 0 restarted after ${sent} broadcasts sent`);
    await broadcasting;
    // Wait until every client has every broadcast, or nothing has arrived for a while.
    const deadline = Date.now() + settleMs;
    let lastTotal = -1;
    let quietSince = Date.now();
    while (Date.now() < deadline) {
      if (clients.every((c) => c.ticks.length >= ticks && c.socket.connected)) break;
      const total = clients.reduce((sum, c) => sum + c.ticks.length, 0);
      if (total !== lastTotal) {
        lastTotal = total;
        quietSince = Date.now();
      } else if (Date.now() - quietSince > 5000 && clients.every((c) => c.socket.connected)) break;
      await Bun.sleep(100);
    }
    return tally(options.target, deployment.adapter, clients, ticks, performance.now() - started);
  } finally {
    for (const client of clients) client.socket.close();
    broadcaster?.close();
    for (const proxy of proxies) proxy.stop();
    await Promise.all(nodes.map((node) => node.kill()));
    await deployment.dispose();
  }
}

function tally(
  target: ChaosTarget,
  adapter: string,
  clients: ChaosClient[],
  ticks: number,
  durationMs: number,
): ChaosResult {
  let missed = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  let perfectClients = 0;
  for (const client of clients) {
    const seen = new Set(client.ticks);
    missed += ticks - [...seen].filter((n) => n >= 0 && n < ticks).length;
    duplicated += client.ticks.length - seen.size;
    let inOrder = true;
    for (let i = 1; i < client.ticks.length; i++)
      if ((client.ticks[i] as number) < (client.ticks[i - 1] as number)) {
        outOfOrder++;
        inOrder = false;
      }
    if (seen.size === ticks && client.ticks.length === ticks && inOrder) perfectClients++;
  }
  const killed = clients.filter((c) => c.home === 0);
  return {
    target,
    adapter,
    clients: clients.length,
    ticks,
    killedClients: killed.length,
    recovered: killed.filter((c) => c.recoveredConnects > 0 && c.socket.id === c.firstId).length,
    freshSessions: clients.reduce((sum, c) => sum + c.freshReconnects, 0),
    missed,
    duplicated,
    outOfOrder,
    perfectClients,
    disconnected: clients.filter((c) => !c.socket.connected).length,
    durationMs: Math.round(durationMs),
  };
}

/** The side-by-side table of several runs. */
export function chaosTable(results: ChaosResult[]): string {
  const rows = [
    "| target | adapter | clients of the killed node recovered | fresh sessions | broadcasts missed | duplicated | out of order | clients with every broadcast once, in order |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...results.map(
      (r) =>
        `| ${r.target} | ${r.adapter} | ${r.recovered} / ${r.killedClients} | ${r.freshSessions} | ${r.missed} | ${r.duplicated} | ${r.outOfOrder} | ${r.perfectClients} / ${r.clients} |`,
    ),
  ];
  return `${rows.join("\n")}\n`;
}

const USAGE = `bun scripts/load/chaos.ts [--target switchboard,official] [--adapter postgres|redis|redis-sharded]
  [--clients 300] [--ticks 300] [--interval 10] [--settle 30000] [--json]
  [--postgres-url URL] [--redis-url URL] [--redis-cluster-url URL]
`;

function parseArgs(argv: string[]): {
  targets: ChaosTarget[];
  json: boolean;
  options: Omit<ChaosOptions, "target">;
} {
  const options: Omit<ChaosOptions, "target"> = {};
  let targets: ChaosTarget[] = ["switchboard", "official"];
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = () => {
      const n = Number(value());
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer`);
      return n;
    };
    if (flag === "--target") {
      targets = value().split(",") as ChaosTarget[];
      for (const t of targets)
        if (t !== "switchboard" && t !== "official") throw new Error(`unknown target ${t}`);
    } else if (flag === "--adapter") {
      const a = value();
      if (a !== "postgres" && a !== "redis" && a !== "redis-sharded") throw new Error(`unknown adapter ${a}`);
      options.adapter = a;
    } else if (flag === "--clients") options.clients = int();
    else if (flag === "--ticks") options.ticks = int();
    else if (flag === "--interval") options.intervalMs = int();
    else if (flag === "--settle") options.settleMs = int();
    else if (flag === "--postgres-url") options.postgresUrl = value();
    else if (flag === "--redis-url") options.redisUrl = value();
    else if (flag === "--redis-cluster-url") options.redisClusterUrl = value();
    else if (flag === "--json") json = true;
    else throw new Error(`unknown flag ${flag}`);
  }
  return { targets, json, options };
}

if (import.meta.main) {
  if (process.argv.includes("--help")) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    process.exit(2);
  }
  const results: ChaosResult[] = [];
  for (const target of parsed.targets) results.push(await runChaos({ target, ...parsed.options }));
  process.stdout.write(parsed.json ? `${JSON.stringify(results)}\n` : chaosTable(results));
  process.exit(0);
}
