/**
 * Measures the server's RSS per idle websocket session (run by hand, not part of `bun test`):
 *
 *   bun test/protocol/engine/tools/session-memory.ts [connections=10000]
 *
 * The engine runs in a child process (so client sockets are not counted); each session joins two
 * topics, like a Socket.IO socket in its own room and an organization room.
 */

const CHILD_FLAG = "--engine-child";

async function runEngine(): Promise<void> {
  const { Engine } = await import("../../../../protocol/engine/index.ts");
  const engine = new Engine({ path: "/socket.io/" });
  engine.on("connection", (s) => {
    s.subscribe(`user:${s.id}`);
    s.subscribe("org:1");
  });
  const server = engine.listen(0, "127.0.0.1");
  Bun.gc(true);
  const baseline = process.memoryUsage().rss;
  process.send?.({ port: server.port });
  process.on("message", () => {
    Bun.gc(true);
    const rss = process.memoryUsage().rss;
    process.send?.({
      sessions: engine.clientsCount,
      rss,
      perSession: (rss - baseline) / Math.max(1, engine.clientsCount),
    });
  });
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 10_000);
  let onMessage: (m: Record<string, number>) => void = () => {};
  const child = Bun.spawn(["bun", import.meta.path, CHILD_FLAG], {
    ipc: (m) => onMessage(m as Record<string, number>),
    stdio: ["ignore", "inherit", "inherit"],
  });
  const next = () => new Promise<Record<string, number>>((resolve) => (onMessage = resolve));
  const { port } = await next();
  const sockets: WebSocket[] = [];
  let open = 0;
  for (let i = 0; i < count; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
    ws.onopen = () => open++;
    ws.onmessage = (e) => e.data === "2" && ws.send("3");
    sockets.push(ws);
    if (i % 200 === 0) await Bun.sleep(20);
  }
  const deadline = Date.now() + 60_000;
  while (open < count && Date.now() < deadline) await Bun.sleep(100);
  await Bun.sleep(1000);
  child.send("measure");
  const r = await next();
  console.log(
    `${r.sessions} idle websocket sessions: RSS ${(r.rss! / 1048576).toFixed(1)} MB, ${(r.perSession! / 1024).toFixed(2)} KB per session`,
  );
  for (const ws of sockets) ws.close();
  child.kill();
  process.exit(0);
}

if (process.argv.includes(CHILD_FLAG)) await runEngine();
else await main();
