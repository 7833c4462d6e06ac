/**
 * An echo server on the public API: every event comes back to its sender (and acks are answered
 * with the same arguments). `bun examples/echo-server.ts`, port from PORT (default 3000).
 *
 *   import { io } from "socket.io-client";
 *   const socket = io("http://127.0.0.1:3000");
 *   socket.emit("hello", "world", (answer) => console.log(answer)); // ["world"]
 */
import { Server } from "../protocol/index.ts";

const port = Number(process.env.PORT ?? 3000);
const io = new Server({ cors: { origin: "*" } });

io.on("connection", (socket) => {
  socket.onAny((event, ...args) => {
    const ack = args[args.length - 1];
    if (typeof ack === "function") ack(...args.slice(0, -1));
    else socket.emit(event, ...args);
  });
});

const server = io.listen(port);
console.log(`echo server listening on http://127.0.0.1:${server.port}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    io.close().then(() => process.exit(0));
  });
}
