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

// Diagnostics for memory findings: SIGUSR2 prints the JS heap's size and object counts by type
// (bun:jsc heapStats) on stderr, so a ramp can be diffed per connection without a heap snapshot.
process.on("SIGUSR2", () => {
  Bun.gc(true);
  const { heapSize, objectCount, objectTypeCounts } = heapStats();
  process.stderr.write(`${JSON.stringify({ heapStats: { heapSize, objectCount, objectTypeCounts } })}\n`);
});

const server = io.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1");
process.stdout.write(`${JSON.stringify({ ready: true, port: server.port, pid: process.pid })}\n`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void io.close().then(() => process.exit(0));
  });
}
