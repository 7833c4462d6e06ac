/**
 * The cluster store a node runs on, behind one shape: the Socket.IO adapter factory, the link's
 * state and counters (for /health and /metrics), the node registry's store and the cluster-wide
 * limits' stores. Redis speaks `@socket.io/redis-adapter`'s protocol (`createAdapter`, or
 * `createShardedAdapter` on a Redis Cluster), PostgreSQL `@socket.io/postgres-adapter`'s.
 */
import type { EventEmitter } from "node:events";
import postgres from "postgres";
import { createCluster } from "redis";
import { createPostgresCluster } from "../../protocol/adapter/postgres/index.ts";
import { createRedisCluster, type LinkCounters, type LinkState } from "../../protocol/adapter/redis/index.ts";
import {
  createShardedRedisCluster,
  type ShardedSubscriptionMode,
} from "../../protocol/adapter/redis/sharded.ts";
import type { ServerOptions } from "../../protocol/index.ts";
import { createLogger } from "../../protocol/logger.ts";
import { postgresLimitStores } from "../limits/postgres-limits.ts";
import { redisClusterLimitStores, redisLimitStores } from "../limits/redis-limits.ts";
import type { SharedLimitStores } from "../limits/shared-store.ts";
import { type ClusterConfig, type ClusterStore, clusterNodeUrls } from "./config.ts";
import type { RegistryStore } from "./registry.ts";
import { postgresRegistryStore, redisRegistryStore } from "./registry-stores.ts";

export interface ClusterLink extends Pick<EventEmitter, "on" | "off"> {
  readonly state: LinkState;
  readonly counters: LinkCounters;
}

export interface ClusterBackend {
  readonly store: ClusterStore;
  /** The Server's `adapter` option. */
  readonly adapter: NonNullable<ServerOptions["adapter"]>;
  readonly link: ClusterLink;
  readonly registryStore: RegistryStore;
  readonly limits: SharedLimitStores;
  /**
   * Resolves once the Server may be created: the sharded adapter subscribes to its namespace
   * channels when a namespace is made, which needs the cluster's slot map (or a degraded link).
   */
  readonly ready: Promise<void>;
  /** Recovery counters, when the store keeps sessions for connection-state recovery. */
  readonly recovery?: () => { recovered: number; notRecovered: Record<string, number> };
  close(): Promise<void>;
}

/** Connections of the PostgreSQL pool for the registry and the limits (the adapter has its own two). */
const POSTGRES_STORE_CONNECTIONS = 4;

const log = createLogger("cluster");

export function createClusterBackend(config: ClusterConfig): ClusterBackend {
  if (config.store === "redis-sharded") return shardedRedisBackend(config);
  if (config.store === "postgres") {
    const cluster = createPostgresCluster({
      url: config.url,
      channelPrefix: config.keyPrefix,
      requestsTimeout: config.requestsTimeout,
    });
    // Limit checks and registry lookups must not queue behind the adapter's publishes.
    const sql = postgres(config.url, {
      max: POSTGRES_STORE_CONNECTIONS,
      onnotice: () => {},
      connect_timeout: 2,
      fetch_types: false,
    });
    const limits = postgresLimitStores(sql);
    return {
      store: "postgres",
      adapter: cluster.adapter as NonNullable<ServerOptions["adapter"]>,
      link: cluster.link,
      registryStore: postgresRegistryStore(sql),
      limits: {
        ...limits,
        deadlineMs: config.limitsTimeout,
        available: () => cluster.link.state === "connected",
      },
      ready: Promise.resolve(),
      recovery: () => cluster.link.recoveryCounters,
      close: async () => {
        await cluster.close();
        await sql.end({ timeout: 1 });
      },
    };
  }
  const redis = createRedisCluster({
    url: config.url,
    key: config.keyPrefix,
    subscriptionMode: config.subscriptionMode as "rooms" | "pattern",
    requestsTimeout: config.requestsTimeout,
  });
  const limits = redisLimitStores(redis.link.commands, config.keyPrefix);
  return {
    store: "redis",
    adapter: redis.adapter as NonNullable<ServerOptions["adapter"]>,
    link: redis.link,
    registryStore: redisRegistryStore(redis.link.commands),
    limits: {
      ...limits,
      deadlineMs: config.limitsTimeout,
      available: () => redis.link.state === "connected",
    },
    ready: Promise.resolve(),
    recovery: () => redis.link.recoveryCounters,
    close: () => redis.close(),
  };
}

/**
 * A Redis Cluster: the sharded adapter (SPUBLISH / SSUBSCRIBE) and, for the registry and the
 * limits, a cluster client of its own that routes each command to the shard of its key (every
 * multi-key script keeps its keys in one slot, see redis-limits.ts).
 */
function shardedRedisBackend(config: ClusterConfig): ClusterBackend {
  const rootUrls = clusterNodeUrls(config.url);
  const sharded = createShardedRedisCluster({
    rootUrls,
    channelPrefix: config.keyPrefix,
    subscriptionMode: config.subscriptionMode as ShardedSubscriptionMode,
    requestsTimeout: config.requestsTimeout,
  });
  const commands = createCluster({ rootNodes: rootUrls.map((url) => ({ url })) });
  commands.on("error", (err: Error) =>
    log.warn("redis cluster error", { role: "commands", error: err.message }),
  );
  // Until it is connected, registry and limit calls fail and are retried or decided locally.
  const connected = commands.connect().then(
    () => true,
    (err: unknown) => {
      log.error("Redis Cluster unreachable: registry and cluster-wide limits unavailable", {
        error: err instanceof Error ? err.message : String(err),
      });
      return false;
    },
  );
  let commandsUp = false;
  void connected.then((up) => {
    commandsUp = up;
  });
  const limits = redisClusterLimitStores(commands, config.keyPrefix);
  return {
    store: "redis-sharded",
    adapter: sharded.adapter as NonNullable<ServerOptions["adapter"]>,
    link: sharded.link,
    registryStore: redisRegistryStore(commands),
    limits: {
      ...limits,
      deadlineMs: config.limitsTimeout,
      available: () => commandsUp && sharded.link.state === "connected",
    },
    ready: Promise.all([sharded.ready, connected]).then(() => {}),
    recovery: () => sharded.link.recoveryCounters,
    close: async () => {
      await sharded.close();
      await connected;
      await commands.close().catch(() => {});
    },
  };
}
