/**
 * The chat server itself (`bun src/main.ts`) as a cluster: two processes on one PostgreSQL, with
 * the cluster on Redis (REDIS_URL) or on that same database (CLUSTER=postgres), and CLUSTER_SECRET
 * set. A message sent through the REST API of one node reaches a socket of the other; a polling
 * session opened on one node is served by the other, and upgraded through it; /health and /metrics
 * report the cluster; with Redis gone, /health says "degraded" while the node serves on.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { type Socket as ClientSocket, io as connect } from "socket.io-client";
import { type BackendInstance, backends } from "../db/backends.ts";
import { hasPostgres, hasRedisServer } from "../support/services.ts";
import { type AppNode, PASSWORD, startApp } from "./app-support.ts";
import { PrivateRedis, uniqueKey, waitFor, within } from "./support.ts";

setDefaultTimeout(60_000);
const postgresUp = await hasPostgres();
const redisServerUp = hasRedisServer();

const STORES = [
  { store: "redis", title: "on Redis", available: postgresUp && redisServerUp },
  { store: "postgres", title: "on its own PostgreSQL database (CLUSTER=postgres)", available: postgresUp },
] as const;

for (const { store, title, available } of STORES)
  describe.skipIf(!available)(`the chat server as a two-node cluster ${title}`, () => {
    let db: BackendInstance;
    let redis: PrivateRedis | undefined;
    let a: AppNode;
    let b: AppNode;
    let token = "";
    let conversationId = "";
    const sockets: ClientSocket[] = [];

    beforeAll(async () => {
      const postgres = (await backends()).find((backend) => backend.name === "postgres");
      db = await (postgres as NonNullable<typeof postgres>).create();
      if (store === "redis") redis = await PrivateRedis.start();
      const clusterEnv: Record<string, string> = redis
        ? { REDIS_URL: redis.url, REDIS_KEY_PREFIX: uniqueKey("app") }
        : { CLUSTER: "postgres", CLUSTER_PREFIX: uniqueKey("app") };
      const env = {
        ...db.env,
        ...clusterEnv,
        CLUSTER_SECRET: "app-cluster-secret-0123456789",
        JWT_SECRET: "a-jwt-secret-shared-by-every-node-0123456789",
        DEMO_PASSWORD: PASSWORD,
        WEB_DIST_DIR: join(db.env.DATA_DIR as string, "web"),
      };
      // One after the other: the first seeds the demo organization.
      a = await startApp(env);
      b = await startApp(env);
      conversationId = /conversation: (\S+)/.exec(a.output)?.[1] ?? "";
      const login = await fetch(`${a.url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: /admin:\s+(\S+)/.exec(a.output)?.[1], password: PASSWORD }),
      });
      token = ((await login.json()) as { access_token: string }).access_token;
    });

    afterAll(async () => {
      for (const socket of sockets) socket.close();
      for (const node of [a, b]) node?.proc.kill("SIGKILL");
      await redis?.stop();
      await db?.dispose();
    });

    async function socketOn(url: string, transports: ("polling" | "websocket")[]): Promise<ClientSocket> {
      const socket = connect(url, {
        auth: { token },
        transports,
        forceNew: true,
        reconnection: false,
        timeout: 5000,
      });
      sockets.push(socket);
      await within(
        "connect",
        new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("connect_error", reject)),
      );
      await within(
        "join",
        socket.timeout(5000).emitWithAck("join_conversation", { conversation_id: conversationId }),
      );
      return socket;
    }

    test("a message sent through one node reaches sockets on the other, with its seq", async () => {
      const onB = await socketOn(b.url, ["websocket"]);
      const received: { seq: number; content: unknown }[] = [];
      onB.on("message:new", (message: { seq: number; content: unknown }) => received.push(message));
      const sent = await fetch(`${a.url}/api/v1/conversations/${conversationId}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ content: { text: "across the cluster" } }),
      });
      expect(sent.status).toBe(201);
      await waitFor("message:new on node B", () => received.length === 1);
      expect(received[0]?.seq).toBeGreaterThan(0);
    });

    test("a polling session opened on one node is served by the other", async () => {
      const open = await (await fetch(`${a.url}/socket.io/?EIO=4&transport=polling`)).text();
      const { sid } = JSON.parse(open.slice(1)) as { sid: string };
      const post = await fetch(`${b.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
        method: "POST",
        body: `40${JSON.stringify({ token })}`,
      });
      expect(await post.text()).toBe("ok");
      const answer = await (await fetch(`${b.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`)).text();
      expect(answer.startsWith("40{")).toBe(true);
    });

    test("Origin rules hold across nodes: a page of node B's origin is served through forwarding and the relay, a foreign one is refused", async () => {
      const open = await (await fetch(`${a.url}/socket.io/?EIO=4&transport=polling`)).text();
      const { sid } = JSON.parse(open.slice(1)) as { sid: string };
      const onB = `${b.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
      const pageOrigin = new URL(b.url).origin;
      // Forwarded to node A, whose own Host differs: the addressed host travels with the request.
      const post = await fetch(onB, {
        method: "POST",
        headers: { origin: pageOrigin },
        body: `40${JSON.stringify({ token })}`,
      });
      expect(await post.text()).toBe("ok");
      const foreign = await fetch(onB, {
        method: "POST",
        headers: { origin: "https://evil.example" },
        body: "2",
      });
      expect(foreign.status).toBe(403);
      expect(await (await fetch(onB, { headers: { origin: pageOrigin } })).text()).toStartWith("40{");
      // The relayed upgrade of the same session, with the page's Origin, reaches node A and probes.
      const ws = new WebSocket(
        onB.replace("http", "ws").replace("transport=polling", "transport=websocket"),
        {
          headers: { origin: pageOrigin },
        } as unknown as string[],
      );
      const frames: string[] = [];
      ws.onmessage = (e) => frames.push(String(e.data));
      await within(
        "relayed websocket open",
        new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = reject;
        }),
      );
      ws.send("2probe");
      await waitFor("3probe through the relay", () => frames.includes("3probe"));
      ws.close();
    });

    test("a websocket upgrade on the other node is relayed to the session's owner", async () => {
      // Polling on A, then the client's upgrade probe goes to B (as a round-robin balancer may send it).
      const open = await (await fetch(`${a.url}/socket.io/?EIO=4&transport=polling`)).text();
      const { sid } = JSON.parse(open.slice(1)) as { sid: string };
      await fetch(`${a.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
        method: "POST",
        body: `40${JSON.stringify({ token })}`,
      });
      expect(
        (await (await fetch(`${a.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`)).text()).startsWith(
          "40{",
        ),
      ).toBe(true);
      const ws = new WebSocket(
        `${b.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket&sid=${sid}`,
      );
      const frames: string[] = [];
      ws.onmessage = (event) => frames.push(String(event.data));
      await within(
        "websocket open",
        new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = reject;
        }),
      );
      ws.send("2probe");
      await waitFor("3probe", () => frames.includes("3probe"));
      ws.send("5");
      ws.send('421["ping",{}]');
      await waitFor("an answer through the relay", () => frames.some((f) => f.startsWith('431[{"ok":true')));
      ws.close();
    });

    test("/health and /metrics report the cluster", async () => {
      const health = (await (await fetch(`${a.url}/health`)).json()) as { status: string; redis?: string };
      expect(health.status).toBe("ok");
      expect(health.redis).toBe("connected");
      const metrics = await (await fetch(`${a.url}/metrics`)).text();
      expect(metrics).toContain(`switchboard_cluster_store_up{store="${store}"} 1`);
      expect(metrics).toMatch(/switchboard_cluster_published_total [1-9]/);
      // Every store keeps recovery sessions, so every store's counters are served.
      expect(metrics).toContain("switchboard_recovery_recovered_total 0");
    });

    test.skipIf(store !== "redis")(
      "with Redis gone a node reports degraded and keeps serving its own clients",
      async () => {
        await redis?.stop();
        await waitFor(
          "degraded",
          async () =>
            ((await (await fetch(`${a.url}/health`)).json()) as { status: string }).status === "degraded",
          10_000,
        );
        const onA = await socketOn(a.url, ["websocket"]);
        const received: unknown[] = [];
        onA.on("message:new", (message: unknown) => received.push(message));
        const sent = await fetch(`${a.url}/api/v1/conversations/${conversationId}/messages`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ content: { text: "local while Redis is down" } }),
        });
        expect(sent.status).toBe(201);
        await waitFor("local message:new", () => received.length === 1);
        const metrics = await (await fetch(`${a.url}/metrics`)).text();
        expect(metrics).toContain("switchboard_cluster_redis_up 0");
        expect(metrics).toMatch(/switchboard_cluster_publish_failed_total [1-9]/);
      },
    );
  });
