/**
 * Switchboard's protocol library: a Socket.IO v4-compatible server (Engine.IO v4 + Socket.IO v5) on
 * Bun.serve. The API mirrors socket.io's server so code written for it ports with few changes:
 *
 *   const io = new Server({ cors: { origin: "*" } });
 *   io.on("connection", (socket) => socket.on("ping", (ack) => ack("pong")));
 *   Bun.serve({ port: 3000, ...io.handler(app.fetch) });
 */
export * from "./adapter/index.ts";
export type { EngineSocket, RawData } from "./engine/contract.ts";
export { Engine, type EngineOptions, type FallbackHandler } from "./engine/index.ts";
export * from "./socketio/index.ts";
