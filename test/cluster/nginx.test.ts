/**
 * A real nginx, configured with the README's round-robin block (no sticky sessions), in front of
 * two Switchboard node processes. Polling-only, websocket-only and upgrading stock clients make
 * many round trips through it and receive broadcasts sent from the other node; the polling ones
 * only work because nodes forward foreign polling requests to the session's owner.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Socket as ClientSocket, io as connect } from "socket.io-client";
import { hasRedis, TEST_REDIS_URL } from "../support/services.ts";
import { freePort, SwitchboardProcess, uniqueKey, waitFor, within } from "./support.ts";

setDefaultTimeout(30_000);
const redisUp = await hasRedis();
const nginxBin = Bun.which("nginx") ?? (Bun.which("nginx", { PATH: "/usr/sbin:/sbin" }) || null);
const inCI = process.env.CI === "true";
if (!nginxBin) {
  if (inCI) throw new Error("nginx is not installed: CI requires it (apt-get install nginx-light)");
  console.warn("\n  ⚠ SKIPPING nginx suite: nginx is not installed (apt-get install nginx-light).\n");
}

const ROUND_TRIPS = 25;
const README = join(import.meta.dir, "..", "..", "README.md");

/** The README's round-robin nginx block, pointed at the given ports. */
export function readmeNginxConfig(listenPort: number, upstreamPorts: [number, number]): string {
  const readme = readFileSync(README, "utf8");
  const section = readme.slice(
    readme.indexOf("<!-- section:deployment -->"),
    readme.indexOf("<!-- /section:deployment -->"),
  );
  const blocks = [...section.matchAll(/```nginx\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
  const block = blocks.find(
    (b) => b.includes("upstream switchboard") && b.includes("listen ") && !b.includes("ip_hash"),
  );
  if (!block) throw new Error("README's deployment section has no round-robin nginx block");
  return block
    .replace("server 127.0.0.1:8001;", `server 127.0.0.1:${upstreamPorts[0]};`)
    .replace("server 127.0.0.1:8002;", `server 127.0.0.1:${upstreamPorts[1]};`)
    .replace(/listen 8000;/, `listen 127.0.0.1:${listenPort};`);
}

describe.skipIf(!redisUp || !nginxBin)("nginx round-robin over two nodes, no sticky sessions", () => {
  const SECRET = "nginx-test-cluster-secret-42";
  let nodes: [SwitchboardProcess, SwitchboardProcess];
  let nginx: ChildProcess;
  let dir: string;
  let url: string;
  const clients: ClientSocket[] = [];

  beforeAll(async () => {
    const env = { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: uniqueKey("nginx"), CLUSTER_SECRET: SECRET };
    nodes = [await SwitchboardProcess.start(env), await SwitchboardProcess.start(env)];
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    dir = mkdtempSync(join(tmpdir(), "sb-nginx-"));
    for (const sub of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, sub));
    const conf = [
      "worker_processes 1;",
      `error_log ${dir}/error.log warn;`,
      `pid ${dir}/nginx.pid;`,
      "events { worker_connections 1024; }",
      "http {",
      "  access_log off;",
      ...["body", "proxy", "fastcgi", "uwsgi", "scgi"].map(
        (sub) => `  ${sub === "body" ? "client_body" : sub}_temp_path ${dir}/${sub};`,
      ),
      readmeNginxConfig(port, [nodes[0].port, nodes[1].port]),
      "}",
    ].join("\n");
    writeFileSync(join(dir, "nginx.conf"), conf);
    // stdio ignored: nginx's workers would otherwise hold the test runner's pipes; errors go to error.log.
    nginx = spawn(nginxBin as string, ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], {
      stdio: "ignore",
    });
    await waitFor(
      "nginx to answer",
      async () =>
        (await fetch(`${url}/socket.io/?EIO=4&transport=polling`).catch(() => null))?.status === 200,
      10_000,
    );
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    if (nginx && nginx.exitCode === null) {
      // SIGTERM is nginx's fast shutdown: the master stops its workers, then exits (SIGKILL would orphan them).
      const exited = new Promise((resolve) => nginx.once("exit", resolve));
      nginx.kill("SIGTERM");
      await within("nginx exit", exited, 5000).catch(() => nginx.kill("SIGKILL"));
    }
    await Promise.all(nodes?.map((node) => node.kill()) ?? []);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function client(kind: "polling" | "websocket" | "upgrade", direct?: string): Promise<ClientSocket> {
    const socket = connect(direct ?? url, {
      transports:
        kind === "polling" ? ["polling"] : kind === "websocket" ? ["websocket"] : ["polling", "websocket"],
      reconnection: false,
      forceNew: true,
      timeout: 5000,
    });
    clients.push(socket);
    await within(
      `${kind} client connect`,
      new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("connect_error", reject);
      }),
    );
    return socket;
  }

  test("polling-only, websocket-only and upgrading clients complete many round trips and receive cross-node broadcasts", async () => {
    const kinds = [
      "polling",
      "polling",
      "polling",
      "websocket",
      "websocket",
      "upgrade",
      "upgrade",
      "upgrade",
    ] as const;
    const sockets = await Promise.all(kinds.map((kind) => client(kind)));
    const received = sockets.map(() => [] as unknown[]);
    sockets.forEach((socket, i) => socket.on("news", (payload: unknown) => received[i]?.push(payload)));
    await Promise.all(sockets.map((socket) => within("join", socket.emitWithAck("join", "lobby"))));

    const servedBy = new Set<string>();
    await Promise.all(
      sockets.map(async (socket, i) => {
        for (let n = 0; n < ROUND_TRIPS; n++) {
          const answer = (await within("echo", socket.timeout(5000).emitWithAck("echo", `${i}:${n}`))) as {
            node: string;
            payload: string;
          };
          expect(answer.payload).toBe(`${i}:${n}`);
          servedBy.add(answer.node);
        }
      }),
    );
    // Both nodes own sessions: the balancer spread the handshakes.
    expect(servedBy.size).toBe(2);

    // Every client broadcasts once from its own node: everyone receives every message.
    sockets.forEach((socket, i) => socket.emit("broadcast", "lobby", "news", i));
    await waitFor(
      "every broadcast everywhere",
      () => received.every((got) => got.length === sockets.length),
      10_000,
    );
    for (const got of received) expect([...got].sort()).toEqual(sockets.map((_, i) => i).sort());
    for (const socket of sockets) expect(socket.connected).toBe(true);
  });

  test("the nodes forwarded polling requests to the sessions' owners", async () => {
    const stats = await Promise.all(
      nodes.map(async (node) => {
        const socket = await client("websocket", node.url);
        return (await within("stats", socket.emitWithAck("stats"))) as {
          forwarded: number;
          forwardFailed: number;
        };
      }),
    );
    const forwarded = stats.reduce((sum, s) => sum + s.forwarded, 0);
    expect(forwarded).toBeGreaterThan(ROUND_TRIPS);
    expect(stats.reduce((sum, s) => sum + s.forwardFailed, 0)).toBe(0);
  });
});
