/**
 * The benchmark app on the official socket.io@4.8 server (Node.js), the baseline of `--compare`.
 * It must stay behaviourally identical to apps/switchboard.ts:
 *   join(room, ack)            → socket.join(room); ack()
 *   pub(room, ...args)         → io.to(room).emit("m", ...args)   (publishers are not members)
 *   echo(payload, ack)         → ack(payload)
 * Prints one JSON line `{"ready":true,"port":N,"pid":N}` on stdout once listening.
 * Env: PORT (default 0 = ephemeral), HOST (default 127.0.0.1).
 */
const { createServer } = require("node:http");
const { Server } = require("socket.io");

const httpServer = createServer();
// Defaults otherwise (websocket via `ws`, permessage-deflate off, polling allowed), as a user gets them.
const io = new Server(httpServer, { serveClient: false });

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("pub", (room, ...args) => {
    io.to(room).emit("m", ...args);
  });
  socket.on("echo", (payload, ack) => {
    if (typeof ack === "function") ack(payload);
  });
});

httpServer.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1", () => {
  const { port } = httpServer.address();
  process.stdout.write(`${JSON.stringify({ ready: true, port, pid: process.pid })}\n`);
});

const stop = () => io.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
