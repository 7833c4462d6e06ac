/**
 * `bun scripts/cluster/bench.ts [--store redis|postgres|both] [--rooms R] [--members K] [--rate N]
 * [--seconds S]`: fan-out through one node vs two nodes over each cluster store, in one run.
 * R rooms × K websocket members, one publisher per room sending N messages/s in total to node A.
 * With one node every member is on A; with two, members alternate between A and B, so half of
 * every room's deliveries cross the store. Reports delivered messages/s, delivered/expected
 * (nothing may be lost) and the fan-out latency (publish → member) of each, and their ratio.
 * Stores: REDIS_URL (default redis://127.0.0.1:6379) and CLUSTER_POSTGRES_URL (default
 * postgres://postgres@127.0.0.1:5432/test; a unique channel prefix per run). Default: both.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { WsClient } from "../load/clients/ws.ts";
import { LatencyHistogram, type LatencySummary } from "../load/stats.ts";

type Store = "redis" | "postgres";

interface BenchOptions {
  rooms: number;
  members: number;
  rate: number;
  seconds: number;
  stores: Store[];
  urls: Record<Store, string>;
}

const STORE_NAMES: Record<Store, string> = { redis: "Redis", postgres: "PostgreSQL" };

function parseOptions(argv: string[]): BenchOptions {
  const value = (name: string, fallback: number) => {
    const at = argv.indexOf(`--${name}`);
    const n = at >= 0 ? Number(argv[at + 1]) : fallback;
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number`);
    return n;
  };
  const storeAt = argv.indexOf("--store");
  const store = storeAt >= 0 ? argv[storeAt + 1] : "both";
  if (store !== "redis" && store !== "postgres" && store !== "both")
    throw new Error("--store must be redis, postgres or both");
  return {
    rooms: value("rooms", 10),
    members: value("members", 50),
    rate: value("rate", 500),
    seconds: value("seconds", 5),
    stores: store === "both" ? ["redis", "postgres"] : [store],
    urls: {
      redis: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
      postgres: process.env.CLUSTER_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    },
  };
}

async function startNode(clusterUrl: string, key: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(import.meta.dir, "bench-node.ts")], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, CLUSTER_URL: clusterUrl, CLUSTER_PREFIX: key, LOG_LEVEL: "error" },
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = /"port":(\d+)/.exec(buffered);
      if (match) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`bench node exited with ${code}`)));
    setTimeout(() => reject(new Error("bench node did not start in 15 s")), 15_000).unref();
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

interface Result {
  store: Store;
  nodes: number;
  deliveredPerSec: number;
  expected: number;
  delivered: number;
  latency: LatencySummary;
}

async function run(store: Store, nodes: number, options: BenchOptions): Promise<Result> {
  const key = `bench-${process.pid}-${store}-${nodes}`;
  const servers = await Promise.all(Array.from({ length: nodes }, () => startNode(options.urls[store], key)));
  const histogram = new LatencyHistogram();
  let delivered = 0;
  const clients: WsClient[] = [];
  try {
    for (let r = 0; r < options.rooms; r++) {
      for (let m = 0; m < options.members; m++) {
        const server = servers[(r * options.members + m) % nodes] as { url: string };
        const client = new WsClient({ baseUrl: server.url });
        await client.connect();
        await client.emitWithAck("join", [`room-${r}`]);
        client.onEvent = (raw) => {
          // 42["m",<sentAt>]
          const sentAt = Number(raw.slice(raw.indexOf(",") + 1, raw.lastIndexOf("]")));
          histogram.record(performance.timeOrigin + performance.now() - sentAt);
          delivered++;
        };
        clients.push(client);
      }
    }
    const publishers = await Promise.all(
      Array.from({ length: options.rooms }, async () => {
        const client = new WsClient({ baseUrl: (servers[0] as { url: string }).url });
        await client.connect();
        return client;
      }),
    );
    // Let every node's room subscriptions (Redis) and heartbeats (PostgreSQL) settle before measuring.
    await Bun.sleep(store === "postgres" ? 1000 : 300);
    const total = Math.round(options.rate * options.seconds);
    const intervalMs = 1000 / options.rate;
    const started = performance.now();
    for (let i = 0; i < total; i++) {
      const due = started + i * intervalMs;
      const wait = due - performance.now();
      if (wait > 1) await Bun.sleep(wait);
      const publisher = publishers[i % options.rooms] as WsClient;
      publisher.send(`42["pub","room-${i % options.rooms}",${performance.timeOrigin + performance.now()}]`);
    }
    const expected = total * options.members;
    const deadline = performance.now() + 5000;
    while (delivered < expected && performance.now() < deadline) await Bun.sleep(20);
    const elapsedS = (performance.now() - started) / 1000;
    for (const p of publishers) p.close();
    return {
      store,
      nodes,
      deliveredPerSec: Math.round(delivered / elapsedS),
      expected,
      delivered,
      latency: histogram.summary(),
    };
  } finally {
    for (const c of clients) c.close();
    for (const s of servers) s.child.kill("SIGTERM");
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  process.stderr.write(
    `cluster fan-out: ${options.rooms} rooms × ${options.members} members, ${options.rate} msg/s for ${options.seconds} s\n`,
  );
  const row = (r: Result) =>
    `| ${r.nodes} node${r.nodes > 1 ? "s" : ""}, ${STORE_NAMES[r.store]} adapter | ${r.deliveredPerSec.toLocaleString("en")} | ${r.delivered}/${r.expected} | ${r.latency.p50} | ${r.latency.p99} | ${r.latency.max} |`;
  const lines = [
    "| setup | delivered msg/s | delivered/expected | p50 ms | p99 ms | max ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  const ratios: string[] = [];
  let lost = false;
  for (const store of options.stores) {
    const one = await run(store, 1, options);
    const two = await run(store, 2, options);
    lines.push(row(one), row(two));
    lost ||= one.delivered < one.expected || two.delivered < two.expected;
    ratios.push(
      `${STORE_NAMES[store]}, 2 nodes / 1 node: delivered ${(two.deliveredPerSec / Math.max(1, one.deliveredPerSec)).toFixed(2)}×, ` +
        `p50 latency ${(two.latency.p50 / Math.max(0.001, one.latency.p50)).toFixed(2)}×, ` +
        `p99 latency ${(two.latency.p99 / Math.max(0.001, one.latency.p99)).toFixed(2)}×`,
    );
  }
  lines.push("", ...ratios);
  if (lost) lines.push("", "LOST MESSAGES: delivered < expected in at least one setup");
  process.stdout.write(`${lines.join("\n")}\n`);
  if (lost) process.exitCode = 1;
}

await main();
