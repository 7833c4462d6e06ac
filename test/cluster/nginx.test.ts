/**
 * A real nginx, configured with docs/deployment.md's round-robin block (no sticky sessions), in front of
 * two Switchboard node processes. Polling-only, websocket-only and upgrading stock clients make
 * many round trips through it and receive broadcasts sent from the other node; the polling ones
 * only work because nodes forward foreign polling requests to the session's owner, and the
 * upgrading ones all reach websocket because an upgrade landing on the other node is relayed.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type Socket as ClientSocket, io as connect } from "socket.io-client";
import { hasRedis, TEST_REDIS_URL } from "../support/services.ts";
import { hasNginx, Nginx, SwitchboardProcess, uniqueKey, waitFor, within } from "./support.ts";

setDefaultTimeout(30_000);
const redisUp = await hasRedis();
const nginxUp = hasNginx();

const ROUND_TRIPS = 25;

describe.skipIf(!redisUp || !nginxUp)("nginx round-robin over two nodes, no sticky sessions", () => {
  const SECRET = "nginx-test-cluster-secret-42";
  let nodes: [SwitchboardProcess, SwitchboardProcess];
  let nginx: Nginx;
  let url: string;
  const clients: ClientSocket[] = [];

  beforeAll(async () => {
    const env = { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: uniqueKey("nginx"), CLUSTER_SECRET: SECRET };
    nodes = [await SwitchboardProcess.start(env), await SwitchboardProcess.start(env)];
    nginx = await Nginx.start(nodes.map((node) => node.port));
    url = nginx.url;
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await nginx?.stop();
    await Promise.all(nodes?.map((node) => node.kill()) ?? []);
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
    for (const [i, socket] of sockets.entries())
      socket.on("news", (payload: unknown) => received[i]?.push(payload));
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
    // Every upgrading client reached websocket, also those whose upgrade request the balancer sent
    // to the other node (relayed to the owner).
    const upgraders = sockets.filter((_, i) => kinds[i] === "upgrade");
    await waitFor("every upgrading client on websocket", () =>
      upgraders.every((socket) => socket.io.engine.transport.name === "websocket"),
    );

    // Every client broadcasts once from its own node: everyone receives every message.
    for (const [i, socket] of sockets.entries()) socket.emit("broadcast", "lobby", "news", i);
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
