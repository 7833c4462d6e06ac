/**
 * A benchmark node: the load benchmark's app (join / pub) on Switchboard with the Redis adapter.
 *   join(room, ack) → socket.join(room); ack()
 *   pub(room, ...args) → io.to(room).emit("m", ...args)
 * Env: REDIS_URL (required), REDIS_KEY_PREFIX, PORT (default 0). Prints {"ready":true,"port":N,"pid":N}.
 */
import { createRedisCluster } from "../../protocol/adapter/redis/index.ts";
import { Server } from "../../protocol/index.ts";

const redisUrl = process.env.REDIS_URL;
if (!redisUrl) throw new Error("REDIS_URL is required");
const cluster = createRedisCluster({ url: redisUrl, key: process.env.REDIS_KEY_PREFIX || "socket.io" });
const io = new Server({ adapter: cluster.adapter });

io.on("connection", (socket) => {
  socket.on("join", async (room: string, ack?: () => void) => {
    await socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("pub", (room: string, ...args: unknown[]) => {
    io.to(room).emit("m", ...args);
  });
});

const server = io.listen(Number(process.env.PORT ?? 0), "127.0.0.1");
for (let i = 0; i < 250 && cluster.link.state !== "connected"; i++) await Bun.sleep(20);
process.stdout.write(`${JSON.stringify({ ready: true, port: server.port, pid: process.pid })}\n`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void io
      .close()
      .then(() => cluster.close())
      .then(() => process.exit(0));
  });
}
