/** The cluster's environment variables: a store (REDIS_URL, CLUSTER, CLUSTER_URL) turns the cluster on, bad values are all listed. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clusterNodeUrls, loadClusterConfig, parseClusterConfig } from "../../src/cluster/config.ts";
import { MAIN, runToExit } from "../support/main-process.ts";

describe("cluster configuration", () => {
  test("without REDIS_URL there is no cluster", () => {
    expect(loadClusterConfig({})).toBeNull();
    expect(loadClusterConfig({ REDIS_URL: "  " })).toBeNull();
  });

  test("REDIS_URL alone gives the documented defaults", () => {
    expect(loadClusterConfig({ REDIS_URL: "redis://127.0.0.1:6379" })).toEqual({
      store: "redis",
      url: "redis://127.0.0.1:6379",
      keyPrefix: "socket.io",
      subscriptionMode: "rooms",
      requestsTimeout: 5000,
      limitsTimeout: 1000,
      nodeId: undefined,
      secret: undefined,
      internalHost: "127.0.0.1",
      internalPort: 0,
      advertiseUrl: undefined,
      peers: new Map(),
    });
  });

  test("every variable is read", () => {
    const config = loadClusterConfig({
      REDIS_URL: "rediss://redis.internal:6380/2",
      REDIS_KEY_PREFIX: "chat",
      REDIS_SUBSCRIPTION_MODE: "pattern",
      CLUSTER_REQUEST_TIMEOUT_MS: "2500",
      CLUSTER_LIMITS_TIMEOUT_MS: "3000",
      NODE_ID: "node-a",
      CLUSTER_SECRET: "0123456789abcdef",
      CLUSTER_INTERNAL_HOST: "0.0.0.0",
      CLUSTER_INTERNAL_PORT: "9100",
      CLUSTER_ADVERTISE_URL: "http://10.0.0.12:9100/",
      CLUSTER_PEERS: "node-b=http://10.0.0.13:9100, node-c=http://10.0.0.14:9100/",
    });
    expect(config?.subscriptionMode).toBe("pattern");
    expect(config?.requestsTimeout).toBe(2500);
    expect(config?.limitsTimeout).toBe(3000);
    expect(() => loadClusterConfig({ REDIS_URL: "redis://r:6379", CLUSTER_LIMITS_TIMEOUT_MS: "0" })).toThrow(
      "CLUSTER_LIMITS_TIMEOUT_MS must be at least 1",
    );
    expect(config?.advertiseUrl).toBe("http://10.0.0.12:9100");
    expect([...(config?.peers ?? [])]).toEqual([
      ["node-b", "http://10.0.0.13:9100"],
      ["node-c", "http://10.0.0.14:9100"],
    ]);
  });

  test("CLUSTER=postgres runs the cluster on the chat's own database, or on CLUSTER_URL", () => {
    const own = loadClusterConfig({ CLUSTER: "postgres", DATABASE_URL: "postgres://db.internal/chat" });
    expect(own?.store).toBe("postgres");
    expect(own?.url).toBe("postgres://db.internal/chat");
    const other = loadClusterConfig({
      CLUSTER: "postgres",
      CLUSTER_URL: "postgresql://bus.internal/cluster",
      DATABASE_URL: "postgres://db.internal/chat",
    });
    expect(other?.url).toBe("postgresql://bus.internal/cluster");
    expect(loadClusterConfig({ CLUSTER_URL: "postgres://bus.internal/c" })?.store).toBe("postgres");
    expect(loadClusterConfig({ CLUSTER_URL: "redis://r:6379", CLUSTER_PREFIX: "chat" })).toMatchObject({
      store: "redis",
      url: "redis://r:6379",
      keyPrefix: "chat",
    });
    expect(loadClusterConfig({ CLUSTER: "redis", REDIS_URL: "redis://r:6379" })?.store).toBe("redis");
  });

  test("CLUSTER=redis-sharded runs on a Redis Cluster named by one or more of its nodes", () => {
    const config = loadClusterConfig({
      CLUSTER: "redis-sharded",
      CLUSTER_URL: "redis://10.0.0.1:7000, redis://10.0.0.2:7000",
    });
    expect(config).toMatchObject({
      store: "redis-sharded",
      url: "redis://10.0.0.1:7000,redis://10.0.0.2:7000",
      // The official sharded adapter's default.
      subscriptionMode: "dynamic",
    });
    expect(clusterNodeUrls(config?.url ?? "")).toEqual(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"]);
    for (const mode of ["static", "dynamic", "dynamic-private"] as const)
      expect(
        loadClusterConfig({
          CLUSTER: "redis-sharded",
          REDIS_URL: "redis://r:7000",
          REDIS_SUBSCRIPTION_MODE: mode,
        })?.subscriptionMode,
      ).toBe(mode);
    // Each store's own modes only.
    expect(() =>
      loadClusterConfig({
        CLUSTER: "redis-sharded",
        REDIS_URL: "redis://r:7000",
        REDIS_SUBSCRIPTION_MODE: "rooms",
      }),
    ).toThrow(/REDIS_SUBSCRIPTION_MODE must be "dynamic", "static", "dynamic-private"/);
    expect(() =>
      loadClusterConfig({ REDIS_URL: "redis://r:6379", REDIS_SUBSCRIPTION_MODE: "dynamic" }),
    ).toThrow(/REDIS_SUBSCRIPTION_MODE must be "rooms", "pattern"/);
    expect(() => loadClusterConfig({ CLUSTER: "redis-sharded" })).toThrow(/one or more Redis Cluster nodes/);
    expect(() =>
      loadClusterConfig({ CLUSTER: "redis-sharded", CLUSTER_URL: "redis://a:7000,postgres://b/c" }),
    ).toThrow(/postgres:\/\/b\/c/);
    // A list of URLs is a Redis Cluster only when CLUSTER says so.
    expect(() => loadClusterConfig({ CLUSTER_URL: "redis://a:7000,redis://b:7000" })).toThrow(
      /CLUSTER=redis-sharded/,
    );
  });

  test("a cluster store that cannot work is refused with a reason", () => {
    // PGlite lives in one process: no other node could LISTEN to it.
    expect(() => loadClusterConfig({ CLUSTER: "postgres" })).toThrow(/DATABASE_URL/);
    expect(() => loadClusterConfig({ CLUSTER: "postgres", CLUSTER_URL: "redis://r" })).toThrow(
      /CLUSTER=postgres/,
    );
    expect(() => loadClusterConfig({ CLUSTER: "memcached" })).toThrow(/CLUSTER must be/);
    expect(() => loadClusterConfig({ CLUSTER_URL: "http://x" })).toThrow(/CLUSTER_URL/);
    expect(() => loadClusterConfig({ CLUSTER: "redis" })).toThrow(/REDIS_URL/);
  });

  test("bad values are listed together", () => {
    const { problems } = parseClusterConfig({
      REDIS_URL: "http://nope",
      REDIS_SUBSCRIPTION_MODE: "sometimes",
      NODE_ID: "bad id!",
      CLUSTER_SECRET: "short",
      CLUSTER_INTERNAL_PORT: "-1",
      CLUSTER_PEERS: "x",
    });
    expect(problems).toHaveLength(6);
    expect(() => loadClusterConfig({ REDIS_URL: "http://nope" })).toThrow(/REDIS_URL/);
  });

  test("the server refuses a bad redis-sharded setting at start in one line naming it, without a stack", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "sb-sharded-config-"));
    try {
      const result = await runToExit(["bun", MAIN], {
        DATA_DIR: dataDir,
        CLUSTER: "redis-sharded",
        CLUSTER_URL: "redis://10.0.0.1:7000,http://10.0.0.2:7000",
      });
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split("\n")).toEqual([
        "invalid configuration:",
        "  - CLUSTER=redis-sharded: every node URL must start with redis:// or rediss:// (not http://10.0.0.2:7000)",
      ]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
