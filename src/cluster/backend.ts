/**
 * The cluster store a node runs on, behind one shape: the Socket.IO adapter factory, the link's
 * state and counters (for /health and /metrics), the node registry's store and the cluster-wide
 * limits' stores. Redis speaks `@socket.io/redis-adapter`'s protocol, PostgreSQL
 * `@socket.io/postgres-adapter`'s.
 */
import type { EventEmitter } from "node:events";
import postgres from "postgres";
import { createPostgresCluster } from "../../protocol/adapter/postgres/index.ts";
import { createRedisCluster, type LinkCounters, type LinkState } from "../../protocol/adapter/redis/index.ts";
import type { ServerOptions } from "../../protocol/index.ts";
import { postgresLimitStores } from "../limits/postgres-limits.ts";
import { redisLimitStores } from "../limits/redis-limits.ts";
import type { SharedLimitStores } from "../limits/shared-store.ts";
import type { ClusterConfig, ClusterStore } from "./config.ts";
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
  /** Recovery counters, when the store keeps sessions for connection-state recovery. */
  readonly recovery?: () => { recovered: number; notRecovered: Record<string, number> };
  close(): Promise<void>;
}

/** Connections of the PostgreSQL pool for the registry and the limits (the adapter has its own two). */
const POSTGRES_STORE_CONNECTIONS = 4;

export function createClusterBackend(config: ClusterConfig): ClusterBackend {
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
      limits: { ...limits, available: () => cluster.link.state === "connected" },
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
    subscriptionMode: config.subscriptionMode,
    requestsTimeout: config.requestsTimeout,
  });
  const limits = redisLimitStores(redis.link.commands, config.keyPrefix);
  return {
    store: "redis",
    adapter: redis.adapter as NonNullable<ServerOptions["adapter"]>,
    link: redis.link,
    registryStore: redisRegistryStore(redis.link.commands),
    limits: { ...limits, available: () => redis.link.state === "connected" },
    close: () => redis.close(),
  };
}
