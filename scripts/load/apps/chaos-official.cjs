/**
 * One node of the official socket.io 4.8 cluster for the chaos run (scripts/load/chaos.ts): Node's
 * http server, `@socket.io/redis-streams-adapter` (the official adapter that keeps sessions for
 * connection-state recovery in Redis) and `connectionStateRecovery` on.
 * Env: REDIS_URL, PREFIX (stream name, session key prefix and channel prefix of this run),
 * RECOVERY_MS (maxDisconnectionDuration), PORT (0: a free one).
 * Clients may emit "join" (room, ack) and "broadcast" (room, event, payload).
 * Prints {"ready":PORT} once listening.
 */
const { createServer } = require("node:http");
const { Server } = require("socket.io");
const { createClient } = require("redis");
const { createAdapter } = require("@socket.io/redis-streams-adapter");

const prefix = process.env.PREFIX ?? "socket.io";

async function main() {
  const redis = createClient({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" });
  redis.on("error", () => {});
  await redis.connect();
  const httpServer = createServer();
  const io = new Server(httpServer, {
    serveClient: false,
    pingInterval: 5000,
    pingTimeout: 5000,
    adapter: createAdapter(redis, {
      streamName: `${prefix}:stream`,
      sessionKeyPrefix: `${prefix}:session:`,
      channelPrefix: prefix,
    }),
    connectionStateRecovery: { maxDisconnectionDuration: Number(process.env.RECOVERY_MS ?? 60_000) },
  });
  io.on("connection", (socket) => {
    socket.on("join", async (room, ack) => {
      await socket.join(room);
      ack?.();
    });
    socket.on("broadcast", (room, event, payload) => io.to(room).emit(event, payload));
  });
  httpServer.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
    process.stdout.write(`${JSON.stringify({ ready: httpServer.address().port })}\n`);
  });
}

main().catch((err) => {
  process.stderr.write(`chaos-official: ${err?.message ?? err}\n`);
  process.exit(1);
});
