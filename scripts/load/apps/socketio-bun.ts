/**
 * socket.io@4.8 on Bun through @socket.io/bun-engine (the engine.io replacement that serves
 * polling and websocket from `Bun.serve`): the closest peer of Switchboard. The app is the same
 * file the official Node target runs (apps/socketio-app.cjs), on the same socket.io `Server` with its
 * defaults (in-memory adapter, default parser); only the engine underneath differs.
 * Prints one JSON line `{"ready":true,"port":N,"pid":N}` on stdout once listening.
 * Env: PORT (default 0 = ephemeral), HOST (default 127.0.0.1).
 */
import { Server as Engine } from "@socket.io/bun-engine";
import { Server } from "socket.io";
import { attachBenchmarkApp } from "./socketio-app.cjs";

const io = new Server({ serveClient: false });
const engine = new Engine({ path: "/socket.io/" });
io.bind(engine);
attachBenchmarkApp(io);

const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: process.env.HOST ?? "127.0.0.1",
  ...engine.handler(),
});
process.stdout.write(`${JSON.stringify({ ready: true, port: server.port, pid: process.pid })}\n`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void io.close().finally(() => {
      server.stop(true);
      process.exit(0);
    });
  });
}
