/**
 * The benchmark app on the official socket.io@4.8 `Server`, shared by the two socket.io targets so
 * they run the same code: apps/official.cjs (Node's http server, engine.io with `ws`) and
 * apps/socketio-bun.ts (Bun.serve through @socket.io/bun-engine). It must stay behaviourally
 * identical to apps/switchboard.ts and apps/bare-bun.ts:
 *   join(room, ack)            → socket.join(room); ack()
 *   pub(room, ...args)         → io.to(room).emit("m", ...args)   (publishers are not members)
 *   echo(payload, ack)         → ack(payload)
 */
function attachBenchmarkApp(io) {
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
}

module.exports = { attachBenchmarkApp };
