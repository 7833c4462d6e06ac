/**
 * The chat server (`bun src/main.ts`) as a two-node cluster on a Redis Cluster of three masters
 * (CLUSTER=redis-sharded, CLUSTER_URL listing two of its nodes): the sharded adapter carries
 * `message:new` across nodes, the node registry in the Redis Cluster lets a polling session opened
 * on one node be served by the other and its upgrade be relayed, and the cluster-wide connection
 * cap (a Lua script on the shard of the user's slot) drops the user's oldest connection wherever
 * it is.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { createCluster } from "redis";
import { type Socket as ClientSocket, io as connect } from "socket.io-client";
import { type BackendInstance, backends } from "../db/backends.ts";
import { hasPostgres, hasRedisServer, requireBinary } from "../support/services.ts";
import { type AppNode, loginAsAdmin, PASSWORD, startApp } from "./app-support.ts";
import { RedisCluster } from "./redis-cluster.ts";
import { uniqueKey, waitFor, within } from "./support.ts";

setDefaultTimeout(90_000);
const available =
  (await hasPostgres()) &&
  hasRedisServer() &&
  requireBinary("redis-cli", "apt-get install redis-tools") !== null;

describe.skipIf(!available)(
  "the chat server as a two-node cluster on a Redis Cluster (CLUSTER=redis-sharded)",
  () => {
    let db: BackendInstance;
    let redis: RedisCluster;
    let a: AppNode;
    let b: AppNode;
    let token = "";
    let conversationId = "";
    const prefix = uniqueKey("sharded-app");
    const sockets: ClientSocket[] = [];

    beforeAll(async () => {
      const postgres = (await backends()).find((backend) => backend.name === "postgres");
      db = await (postgres as NonNullable<typeof postgres>).create();
      redis = await RedisCluster.start();
      const env = {
        ...db.env,
        CLUSTER: "redis-sharded",
        // Two of the three masters: the third is discovered.
        CLUSTER_URL: redis.ports
          .slice(0, 2)
          .map((port) => `redis://127.0.0.1:${port}`)
          .join(","),
        CLUSTER_PREFIX: prefix,
        REDIS_SUBSCRIPTION_MODE: "dynamic",
        CLUSTER_SECRET: "sharded-app-cluster-secret-0123456789",
        JWT_SECRET: "a-jwt-secret-shared-by-every-node-0123456789",
        DEMO_PASSWORD: PASSWORD,
        WEB_DIST_DIR: join(db.env.DATA_DIR as string, "web"),
        MAX_CONNECTIONS_PER_USER: "3",
        // A check slower than the default 1 s on a loaded machine would be decided per node (the
        // documented fallback) and hide the rule under test.
        CLUSTER_LIMITS_TIMEOUT_MS: "15000",
      };
      // One after the other: the first seeds the demo organization.
      a = await startApp(env);
      b = await startApp(env);
      conversationId = /conversation: (\S+)/.exec(a.output)?.[1] ?? "";
      token = await loginAsAdmin(a);
    });

    afterAll(async () => {
      for (const socket of sockets) socket.close();
      for (const node of [a, b]) node?.proc.kill("SIGKILL");
      redis?.stop();
      await db?.dispose();
    });

    async function connectTo(
      node: AppNode,
      transports: ("polling" | "websocket")[] = ["websocket"],
    ): Promise<{ socket: ClientSocket; errors: { code: string }[] }> {
      const socket = connect(node.url, { auth: { token }, transports, forceNew: true, reconnection: false });
      sockets.push(socket);
      const errors: { code: string }[] = [];
      socket.on("error", (error: { code: string }) => errors.push(error));
      const connected = new Promise<void>((resolve) => socket.once("connected", () => resolve()));
      await within(
        "connect",
        new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("connect_error", reject)),
      );
      await within("connected event", connected);
      return { socket, errors };
    }

    /** Waits for `socket` to be dropped; a timeout names each node's limit fallbacks (a store slower than 1 s). */
    async function droppedOrExplain(what: string, socket: ClientSocket): Promise<void> {
      try {
        await waitFor(what, () => !socket.connected, 10_000);
      } catch (err) {
        const fallbacks = await Promise.all(
          [a, b].map(async (node) =>
            (
              (await (await fetch(`${node.url}/metrics`)).text()).match(
                /^switchboard_limits_fallback_total\{.*$/gm,
              ) ?? []
            ).join(", "),
          ),
        );
        throw new Error(`${(err as Error).message} (node A: ${fallbacks[0]}; node B: ${fallbacks[1]})`);
      }
    }

    test("a fourth connection on either node drops the user's oldest connection, wherever it is", async () => {
      // First: no other connection of this user exists yet.
      const first = await connectTo(a);
      const second = await connectTo(b);
      const third = await connectTo(a);
      // The fourth lands on B; the oldest is on A: A must be told to drop it.
      const fourth = await connectTo(b);
      await droppedOrExplain("the oldest connection dropped", first.socket);
      expect(first.errors.map((e) => e.code)).toContain("connection_limit");
      expect([second, third, fourth].every(({ socket }) => socket.connected)).toBe(true);
      const fifth = await connectTo(a, ["polling"]);
      await droppedOrExplain("the next oldest dropped", second.socket);
      expect([third, fourth, fifth].every(({ socket }) => socket.connected)).toBe(true);
      const metrics = await (await fetch(`${a.url}/metrics`)).text();
      expect(metrics).toContain('switchboard_limits_fallback_total{limit="connections"} 0');
      for (const { socket } of [third, fourth, fifth]) socket.close();
    });

    test("/health is ok and /metrics names the store", async () => {
      for (const node of [a, b]) {
        const health = (await (await fetch(`${node.url}/health`)).json()) as { status: string };
        expect(health.status).toBe("ok");
        const metrics = await (await fetch(`${node.url}/metrics`)).text();
        expect(metrics).toContain('switchboard_cluster_store_up{store="redis-sharded"} 1');
        expect(metrics).toContain("switchboard_recovery_recovered_total 0");
      }
    });

    test("a message sent through one node reaches a socket on the other, with its seq", async () => {
      const { socket } = await connectTo(b);
      await within(
        "join",
        socket.timeout(5000).emitWithAck("join_conversation", { conversation_id: conversationId }),
      );
      const received: { seq: number }[] = [];
      socket.on("message:new", (message: { seq: number }) => received.push(message));
      const sent = await fetch(`${a.url}/api/v1/conversations/${conversationId}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ content: { text: "across the Redis Cluster" } }),
      });
      expect(sent.status).toBe(201);
      await waitFor("message:new on node B", () => received.length === 1, 10_000);
      expect(received[0]?.seq).toBeGreaterThan(0);
      const metrics = await (await fetch(`${a.url}/metrics`)).text();
      expect(metrics).toMatch(/switchboard_cluster_published_total [1-9]/);
      socket.close();
    });

    test("both nodes are announced in the Redis Cluster's registry", async () => {
      const client = createCluster({ rootNodes: [{ url: redis.url }] });
      await client.connect();
      try {
        for (const node of [a, b]) {
          const { node_id } = (await (await fetch(`${node.url}/health`)).json()) as { node_id: string };
          expect(await client.get(`switchboard:node:${node_id}`)).toStartWith("http://");
        }
      } finally {
        await client.close();
      }
    });

    test("a polling session opened on one node is served by the other, and upgraded through it", async () => {
      const open = await (await fetch(`${a.url}/socket.io/?EIO=4&transport=polling`)).text();
      const { sid } = JSON.parse(open.slice(1)) as { sid: string };
      const onB = `${b.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
      const post = await fetch(onB, { method: "POST", body: `40${JSON.stringify({ token })}` });
      expect(await post.text()).toBe("ok");
      expect(await (await fetch(onB)).text()).toStartWith("40{");
      const ws = new WebSocket(onB.replace("http", "ws").replace("transport=polling", "transport=websocket"));
      const frames: string[] = [];
      ws.onmessage = (event) => frames.push(String(event.data));
      await within(
        "relayed websocket open",
        new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = reject;
        }),
      );
      ws.send("2probe");
      await waitFor("3probe through the relay", () => frames.includes("3probe"));
      ws.send("5");
      ws.send('421["ping",{}]');
      await waitFor("an answer through the relay", () => frames.some((f) => f.startsWith('431[{"ok":true')));
      ws.close();
    });
  },
);
