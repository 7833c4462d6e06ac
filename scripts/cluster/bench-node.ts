/**
 * A benchmark node: the load benchmark's app (join / pub) on Switchboard with the Redis adapter,
 * or the PostgreSQL adapter when CLUSTER_URL is a postgres:// URL.
 *   join(room, ack) → socket.join(room); ack()
 *   pub(room, ...args) → io.to(room).emit("m", ...args)
 * Env: CLUSTER_URL (or REDIS_URL), CLUSTER_PREFIX, PORT (default 0). Prints {"ready":true,"port":N,"pid":N}.
 */
import { createPostgresCluster } from "../../protocol/adapter/postgres/index.ts";
import { createRedisCluster } from "../../protocol/adapter/redis/index.ts";
import { Server, type ServerOptions } from "../../protocol/index.ts";

const url = process.env.CLUSTER_URL ?? process.env.REDIS_URL;
if (!url) throw new Error("CLUSTER_URL (redis:// or postgres://) is required");
const prefix = process.env.CLUSTER_PREFIX || "socket.io";
const cluster = url.startsWith("postgres")
  ? createPostgresCluster({ url, channelPrefix: prefix })
  : createRedisCluster({ url, key: prefix });
const io = new Server({ adapter: cluster.adapter as ServerOptions["adapter"] });

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
