/**
 * The soak's server process: the real chat server (src/app.ts `startServer`, as `bun run start`
 * runs it) plus a private admin listener on 127.0.0.1 that reports memory and live-object counts.
 * The admin route lives here, not in the product: the soak is its only user.
 *
 * Prints one JSON line once ready: {"ready":true,"url","adminUrl","pid","token","conversationId"}.
 * Env: everything src/config.ts reads (the soak sets PORT=0, limits out of the way, DATABASE_URL or
 * a PGlite directory).
 */
import { heapStats } from "bun:jsc";
import { startServer } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";

/** What GET /memory answers. */
export interface MemorySample {
  rssBytes: number;
  heapUsedBytes: number;
  heapSizeBytes: number;
  objectCount: number;
  sockets: number;
  engineSessions: number;
  rooms: number;
}

const config = loadConfig();
const running = await startServer(config, { buildWebUi: false });
const io = running.realtime.io;
const seeded = running.seeded;
if (!seeded) throw new Error("the soak needs a fresh database (demo seed) to get a user and a conversation");
// Long enough for the whole run: the soak is about memory, not token expiry.
const token = await running.ctx.tokens.sign(
  { id: seeded.admin.id, organization_id: seeded.organizationId, role: seeded.admin.role },
  "access",
  24 * 3600,
);

const admin = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req) {
    const url = new URL(req.url);
    if (url.pathname !== "/memory") return new Response("not found", { status: 404 });
    // A full collection first, so the numbers are live objects and not garbage not yet collected.
    if (url.searchParams.get("gc") === "1") Bun.gc(true);
    const heap = heapStats();
    const sample: MemorySample = {
      rssBytes: process.memoryUsage.rss(),
      heapUsedBytes: heap.heapSize,
      heapSizeBytes: heap.heapCapacity,
      objectCount: heap.objectCount,
      sockets: io.sockets.sockets.size,
      engineSessions: io.engine.clientsCount,
      rooms: io.of("/").adapter.rooms.size,
    };
    return Response.json(sample);
  },
});

process.stdout.write(
  `${JSON.stringify({
    ready: true,
    url: running.url,
    adminUrl: `http://127.0.0.1:${admin.port}`,
    pid: process.pid,
    token,
    conversationId: seeded.conversationId,
  })}\n`,
);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    admin.stop(true);
    void running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
