/**
 * The benchmark app on Switchboard, written only against protocol/'s public API. It must stay
 * behaviourally identical to apps/official.cjs:
 *   join(room, ack)            → socket.join(room); ack()
 *   pub(room, ...args)         → io.to(room).emit("m", ...args)   (publishers are not members)
 *   echo(payload, ack)         → ack(payload)
 * Prints one JSON line `{"ready":true,"port":N,"pid":N}` on stdout once listening.
 * Env: PORT (default 0 = ephemeral), HOST (default 127.0.0.1).
 */
import { heapStats } from "bun:jsc";
import { Server } from "../../../protocol/index.ts";

// Library defaults otherwise, as a user gets them (the official app does the same).
const io = new Server({});

io.on("connection", (socket) => {
  socket.on("join", (room: string, ack?: () => void) => {
    socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("pub", (room: string, ...args: unknown[]) => {
    io.to(room).emit("m", ...args);
  });
  socket.on("echo", (payload: unknown, ack?: (payload: unknown) => void) => {
    if (typeof ack === "function") ack(payload);
  });
});

// Diagnostics for memory findings (scripts/load/heap-diff.ts diffs them over a ramp): SIGUSR2
// prints the JS heap's size and object counts by type (bun:jsc heapStats) on stderr; SIGUSR1 takes
// a heap snapshot and prints its cells' count and bytes by class name (EngineSession, Socket, ...).
process.on("SIGUSR2", () => {
  Bun.gc(true);
  const { heapSize, heapCapacity, extraMemorySize, objectCount, objectTypeCounts } = heapStats();
  process.stderr.write(
    `${JSON.stringify({ heapStats: { heapSize, heapCapacity, extraMemorySize, objectCount, objectTypeCounts } })}\n`,
  );
});
process.on("SIGUSR1", () => {
  Bun.gc(true);
  process.stderr.write(`${JSON.stringify({ heapClasses: heapClasses() })}\n`);
});

/** Count and bytes of the heap snapshot's cells by class name (JSC's snapshot: 4 numbers per node). */
function heapClasses(): Record<string, { count: number; bytes: number }> {
  const snapshot = Bun.generateHeapSnapshot() as unknown as { nodes: number[]; nodeClassNames: string[] };
  const { nodes, nodeClassNames } = snapshot;
  const byClass: Record<string, { count: number; bytes: number }> = {};
  for (let i = 0; i < nodes.length; i += 4) {
    const name = nodeClassNames[nodes[i + 2]!]!;
    const entry = byClass[name] ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += nodes[i + 1]!;
    byClass[name] = entry;
  }
  return byClass;
}

const server = io.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1");
process.stdout.write(`${JSON.stringify({ ready: true, port: server.port, pid: process.pid })}\n`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void io.close().then(() => process.exit(0));
  });
}
