/**
 * The cluster store a node runs on, behind one shape: the Socket.IO adapter factory, the link's
 * state and counters (for /health and /metrics), and the node registry's store. Redis speaks
 * `@socket.io/redis-adapter`'s protocol, PostgreSQL `@socket.io/postgres-adapter`'s.
 */
import type { EventEmitter } from "node:events";
import { createPostgresCluster } from "../../protocol/adapter/postgres/index.ts";
import { createRedisCluster, type LinkCounters, type LinkState } from "../../protocol/adapter/redis/index.ts";
import type { ServerOptions } from "../../protocol/index.ts";
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
  close(): Promise<void>;
}

export function createClusterBackend(config: ClusterConfig): ClusterBackend {
  if (config.store === "postgres") {
    const postgres = createPostgresCluster({
      url: config.url,
      channelPrefix: config.keyPrefix,
      requestsTimeout: config.requestsTimeout,
    });
    return {
      store: "postgres",
      adapter: postgres.adapter as NonNullable<ServerOptions["adapter"]>,
      link: postgres.link,
      registryStore: postgresRegistryStore(postgres.link.sql),
      close: () => postgres.close(),
    };
  }
  const redis = createRedisCluster({
    url: config.url,
    key: config.keyPrefix,
    subscriptionMode: config.subscriptionMode,
    requestsTimeout: config.requestsTimeout,
  });
  return {
    store: "redis",
    adapter: redis.adapter as NonNullable<ServerOptions["adapter"]>,
    link: redis.link,
    registryStore: redisRegistryStore(redis.link.commands),
    close: () => redis.close(),
  };
}
