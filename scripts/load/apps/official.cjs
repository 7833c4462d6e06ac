/**
 * The official socket.io@4.8 server on Node.js (engine.io over Node's http server and `ws`), the
 * baseline of `--compare`. The app itself is apps/socketio-app.cjs, shared with socketio-bun.ts.
 * Prints one JSON line `{"ready":true,"port":N,"pid":N}` on stdout once listening.
 * Env: PORT (default 0 = ephemeral), HOST (default 127.0.0.1).
 */
const { createServer } = require("node:http");
const { Server } = require("socket.io");
const { attachBenchmarkApp } = require("./socketio-app.cjs");

const httpServer = createServer();
// Defaults otherwise (websocket via `ws`, permessage-deflate off, polling allowed), as a user gets them.
const io = new Server(httpServer, { serveClient: false });
attachBenchmarkApp(io);

httpServer.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1", () => {
  const { port } = httpServer.address();
  process.stdout.write(`${JSON.stringify({ ready: true, port, pid: process.pid })}\n`);
});

const stop = () => io.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
