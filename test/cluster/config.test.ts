/** The cluster's environment variables: REDIS_URL turns the cluster on, bad values are all listed. */
import { describe, expect, test } from "bun:test";
import { loadClusterConfig, parseClusterConfig } from "../../src/cluster/config.ts";

describe("cluster configuration", () => {
  test("without REDIS_URL there is no cluster", () => {
    expect(loadClusterConfig({})).toBeNull();
    expect(loadClusterConfig({ REDIS_URL: "  " })).toBeNull();
  });

  test("REDIS_URL alone gives the documented defaults", () => {
    expect(loadClusterConfig({ REDIS_URL: "redis://127.0.0.1:6379" })).toEqual({
      redisUrl: "redis://127.0.0.1:6379",
      keyPrefix: "socket.io",
      subscriptionMode: "rooms",
      requestsTimeout: 5000,
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
      NODE_ID: "node-a",
      CLUSTER_SECRET: "0123456789abcdef",
      CLUSTER_INTERNAL_HOST: "0.0.0.0",
      CLUSTER_INTERNAL_PORT: "9100",
      CLUSTER_ADVERTISE_URL: "http://10.0.0.12:9100/",
      CLUSTER_PEERS: "node-b=http://10.0.0.13:9100, node-c=http://10.0.0.14:9100/",
    });
    expect(config?.subscriptionMode).toBe("pattern");
    expect(config?.requestsTimeout).toBe(2500);
    expect(config?.advertiseUrl).toBe("http://10.0.0.12:9100");
    expect([...(config?.peers ?? [])]).toEqual([
      ["node-b", "http://10.0.0.13:9100"],
      ["node-c", "http://10.0.0.14:9100"],
    ]);
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
});
