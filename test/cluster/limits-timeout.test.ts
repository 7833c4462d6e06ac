/**
 * CLUSTER_LIMITS_TIMEOUT_MS is how long a node waits for the cluster store's answer to a limit
 * check before deciding it with its own limit. A chat node on a private Redis that is frozen
 * (SIGSTOP) for longer than the default 1 s, but shorter than the configured wait: the connection
 * check that was asked meanwhile is still decided by the store once it answers, and no check falls
 * back (with the setting ignored, the default second would have run out and the fallback counted).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { type Socket as ClientSocket, io as connect } from "socket.io-client";
import { type BackendInstance, backends } from "../db/backends.ts";
import { hasPostgres } from "../support/services.ts";
import { type AppNode, loginAsAdmin, PASSWORD, startApp } from "./app-support.ts";
import { hasRedisCluster } from "./redis-cluster.ts";
import { PrivateRedis, waitFor, within } from "./support.ts";

setDefaultTimeout(60_000);
const postgresUp = await hasPostgres();
// hasRedisCluster: redis-server is on the PATH (the private server this suite freezes).
const redisServer = hasRedisCluster();
if (!redisServer && process.env.CI === "true") throw new Error("redis-server is required in CI");
/** Longer than the default wait (1 s), far shorter than the configured one. */
const FROZEN_MS = 2500;

describe.skipIf(!postgresUp || !redisServer)("CLUSTER_LIMITS_TIMEOUT_MS", () => {
  let db: BackendInstance;
  let redis: PrivateRedis;
  let node: AppNode;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    const postgres = (await backends()).find((backend) => backend.name === "postgres");
    db = await (postgres as NonNullable<typeof postgres>).create();
    redis = await PrivateRedis.start();
    node = await startApp({
      ...db.env,
      REDIS_URL: redis.url,
      CLUSTER_SECRET: "limits-timeout-secret-0123456789",
      JWT_SECRET: "a-jwt-secret-shared-by-every-node-0123456789",
      DEMO_PASSWORD: PASSWORD,
      WEB_DIST_DIR: join(db.env.DATA_DIR as string, "web"),
      MAX_CONNECTIONS_PER_USER: "1",
      CLUSTER_LIMITS_TIMEOUT_MS: "30000",
    });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    node?.proc.kill("SIGKILL");
    redis?.resume();
    await redis?.stop();
    await db?.dispose();
  });

  async function connectAs(token: string): Promise<ClientSocket> {
    const socket = connect(node.url, {
      auth: { token },
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
    });
    sockets.push(socket);
    await within(
      "connect",
      new Promise((resolve, reject) =>
        socket.once("connect", () => resolve(null)).once("connect_error", reject),
      ),
    );
    return socket;
  }

  const connectionFallbacks = async (): Promise<number> => {
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    const found = /switchboard_limits_fallback_total\{limit="connections"\} (\d+)/.exec(metrics);
    return Number(found?.[1] ?? Number.NaN);
  };

  test("a store slower than the default but within the setting still decides the cap", async () => {
    const token = await loginAsAdmin(node);
    const first = await connectAs(token);
    expect(await connectionFallbacks()).toBe(0);
    redis.pause();
    let second: ClientSocket;
    try {
      second = await connectAs(token);
      await Bun.sleep(FROZEN_MS);
    } finally {
      redis.resume();
    }
    await waitFor("the store's answer to drop the older connection", () => !first.connected, 30_000);
    expect(second.connected).toBe(true);
    expect(await connectionFallbacks()).toBe(0);
  });
});
