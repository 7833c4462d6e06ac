/**
 * An Engine.IO echo server on the engine's public API only.
 *
 *   bun examples/engine-echo.ts            # listens on 127.0.0.1:3000 (PORT to change)
 *
 * Any engine.io-client (v6, the one socket.io-client bundles) can connect to
 * http://127.0.0.1:3000 with `path: "/engine.io/"`; every message comes back.
 */
import { Engine } from "../protocol/engine/index.ts";

const port = Number(process.env.PORT ?? 3000);
const engine = new Engine({ cors: { origin: "*" } });

engine.on("connection", (socket) => {
  console.log(`+ ${socket.id} (${socket.transportName}) from ${socket.request.remoteAddress}`);
  socket.subscribe("everyone");
  socket.on("message", (data) => socket.send(data));
  socket.on("upgrade", () => console.log(`  ${socket.id} upgraded to ${socket.transportName}`));
  socket.on("close", (reason) => console.log(`- ${socket.id} (${reason})`));
});

engine.on("connection_error", ({ code, message }) => console.log(`! refused: ${code} ${message}`));

// A broadcast every 10 s, encoded once for every connected client.
setInterval(() => engine.publish("everyone", `tick ${new Date().toISOString()}`), 10_000).unref();

const server = engine.listen(port, "127.0.0.1");
console.log(`engine echo on http://127.0.0.1:${server.port}${engine.opts.path}`);

process.on("SIGINT", async () => {
  await engine.close("server shutting down");
  process.exit(0);
});
