/**
 * Where the memory of an idle connection goes, on the Switchboard benchmark app:
 *
 *   bun scripts/load/heap-diff.ts [connections=10000]
 *
 * Starts scripts/load/apps/switchboard.ts, opens and closes 200 warm-up connections, then reads
 * the JS heap (a full GC first) twice: with no client connected and with N idle websocket
 * clients (Socket.IO-connected, nothing else). Prints per connection: RSS, JS heap bytes and
 * objects (bun:jsc heapStats, SIGUSR2 of the app), and the heap snapshot's cells by class name
 * with their bytes (Bun.generateHeapSnapshot, SIGUSR1). One process, no pinning: a diagnostic,
 * not a benchmark figure (those come from `bun scripts/load --scenarios scale`).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { WsClient } from "./clients/ws.ts";
import { closeClients, openClients } from "./scenarios/pool.ts";

const APP = resolve(import.meta.dir, "apps", "switchboard.ts");
const WARMUP = 200;
const WINDOW = 200;
const SETTLE_MS = 2_000;

interface HeapStats {
  heapSize: number;
  /** The GC heap's blocks (live cells and the free space between them). */
  heapCapacity: number;
  objectCount: number;
  objectTypeCounts: Record<string, number>;
}
type HeapClasses = Record<string, { count: number; bytes: number }>;

const count = Number(process.argv[2] ?? 10_000);
const app = Bun.spawn([process.execPath, APP], {
  stdout: "pipe",
  stderr: "pipe",
  env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "warn" },
});

/** Lines of a child stream, one at a time. */
function lines(stream: ReadableStream<Uint8Array>): () => Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  return async () => {
    for (;;) {
      const at = buffered.indexOf("\n");
      if (at >= 0) {
        const line = buffered.slice(0, at);
        buffered = buffered.slice(at + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("the app exited");
      buffered += decoder.decode(value, { stream: true });
    }
  };
}

const stdoutLine = lines(app.stdout);
const stderrLine = lines(app.stderr);

/** Signal the app and wait for the JSON line carrying `key` on its stderr. */
async function ask<T>(signal: "SIGUSR1" | "SIGUSR2", key: string): Promise<T> {
  app.kill(signal);
  for (;;) {
    const line = await stderrLine();
    if (!line.startsWith("{")) continue;
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (key in parsed) return parsed[key] as T;
  }
}

function rssKb(): number {
  const status = readFileSync(`/proc/${app.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

async function measure() {
  const stats = await ask<HeapStats>("SIGUSR2", "heapStats");
  // After the full collection, before the snapshot (which allocates a lot of its own).
  const rss = rssKb();
  const classes = await ask<HeapClasses>("SIGUSR1", "heapClasses");
  return { stats, classes, rss };
}

try {
  const { port } = JSON.parse(await stdoutLine()) as { port: number };
  const make = () => new WsClient({ baseUrl: `http://127.0.0.1:${port}`, connectTimeoutMs: 60_000 });
  const warm = await openClients(WARMUP, WINDOW, make);
  await closeClients(warm.clients, 500);
  const before = await measure();
  const ramp = await openClients(count, WINDOW, make);
  const n = ramp.clients.length;
  await Bun.sleep(SETTLE_MS);
  const after = await measure();
  const per = (a: number, b: number) => (b - a) / n;
  console.log(
    `${n} idle connections (${ramp.failures.length} failed): RSS ${per(before.rss, after.rss).toFixed(2)} KiB (after a full GC), ` +
      `JS heap ${per(before.stats.heapSize, after.stats.heapSize).toFixed(0)} B in ` +
      `${per(before.stats.objectCount, after.stats.objectCount).toFixed(1)} objects per connection ` +
      `(GC heap capacity ${per(before.stats.heapCapacity, after.stats.heapCapacity).toFixed(0)} B)`,
  );
  console.log("\nheap snapshot cells per connection, by class:");
  console.log("   count    bytes  class");
  const names = new Set([...Object.keys(before.classes), ...Object.keys(after.classes)]);
  const rows = [...names]
    .map((name) => {
      const a = before.classes[name] ?? { count: 0, bytes: 0 };
      const b = after.classes[name] ?? { count: 0, bytes: 0 };
      return { name, count: per(a.count, b.count), bytes: per(a.bytes, b.bytes) };
    })
    .filter((r) => Math.abs(r.count) >= 0.05)
    .sort((x, y) => y.bytes - x.bytes);
  let total = 0;
  for (const r of rows) {
    total += r.bytes;
    console.log(`${r.count.toFixed(2).padStart(8)} ${r.bytes.toFixed(0).padStart(8)}  ${r.name}`);
  }
  console.log(`${"".padStart(8)} ${total.toFixed(0).padStart(8)}  (total)`);
  await closeClients(ramp.clients, 200);
} finally {
  app.kill("SIGTERM");
}
process.exit(0);
