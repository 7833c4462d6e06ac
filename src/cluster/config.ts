/**
 * Environment variables of the cluster layer, parsed in one place. A cluster store turns the
 * cluster on; without one the server is a single node exactly as before:
 *
 * - `CLUSTER=redis`, `CLUSTER=redis-sharded` or `CLUSTER=postgres` chooses the store; `CLUSTER_URL`
 *   is its URL. Without `CLUSTER_URL`, `CLUSTER=postgres` uses the chat's own database
 *   (`DATABASE_URL`) and the Redis stores use `REDIS_URL`. `redis-sharded` is a Redis Cluster:
 *   its URL is one or more of the cluster's nodes, comma-separated (the others are discovered).
 * - `CLUSTER_URL` alone: the store is told by its scheme (redis://, rediss://, postgres://).
 * - `REDIS_URL` alone (the original way): a Redis cluster.
 */
import type { SubscriptionMode } from "../../protocol/adapter/redis/index.ts";
import type { ShardedSubscriptionMode } from "../../protocol/adapter/redis/sharded.ts";
import { FALLBACK_DEFAULTS } from "../limits/fallback.ts";
import { isValidNodeId } from "./node-id.ts";

/** Where the nodes meet: the adapter's channels, the node registry and the cluster-wide limits. */
export type ClusterStore = "redis" | "redis-sharded" | "postgres";

export const CLUSTER_STORES: readonly ClusterStore[] = ["redis", "redis-sharded", "postgres"];

/** REDIS_SUBSCRIPTION_MODE's values per Redis store, the first being the default. */
const SUBSCRIPTION_MODES = {
  redis: ["rooms", "pattern"],
  // The official sharded adapter's `subscriptionMode`, and its default.
  "redis-sharded": ["dynamic", "static", "dynamic-private"],
} as const;

export interface ClusterConfig {
  /** CLUSTER, or the scheme of CLUSTER_URL, or "redis" for REDIS_URL. */
  store: ClusterStore;
  /** CLUSTER_URL, else DATABASE_URL (postgres) or REDIS_URL (redis); for redis-sharded a comma-separated list. */
  url: string;
  /** CLUSTER_PREFIX (or REDIS_KEY_PREFIX): the official adapters' `key` / `channelPrefix`. Default "socket.io". */
  keyPrefix: string;
  /**
   * REDIS_SUBSCRIPTION_MODE. CLUSTER=redis: "rooms" (default, per-room channels) or "pattern" (as
   * the official adapter). CLUSTER=redis-sharded: the official sharded adapter's `subscriptionMode`,
   * "dynamic" (default), "static" or "dynamic-private". Unused with postgres.
   */
  subscriptionMode: SubscriptionMode | ShardedSubscriptionMode;
  /** CLUSTER_REQUEST_TIMEOUT_MS: deadline of cluster requests (fetchSockets, ...). Default 5000. */
  requestsTimeout: number;
  /**
   * CLUSTER_LIMITS_TIMEOUT_MS: longest wait for the store's answer to one limit check before the
   * node decides it with its own limit (and stops asking for 5 s). Default 1000.
   */
  limitsTimeout: number;
  /** NODE_ID: this node's id in session ids and the registry. Default random per process. */
  nodeId: string | undefined;
  /** CLUSTER_SECRET: shared by every node; authenticates forwarded polling requests. Unset → no forwarding. */
  secret: string | undefined;
  /** CLUSTER_INTERNAL_HOST: interface of the internal listener. Default 127.0.0.1. */
  internalHost: string;
  /** CLUSTER_INTERNAL_PORT: port of the internal listener. Default 0 (a free port). */
  internalPort: number;
  /** CLUSTER_ADVERTISE_URL: how other nodes reach the internal listener. Default http://<host>:<port>. */
  advertiseUrl: string | undefined;
  /** CLUSTER_PEERS: static `nodeId=http://host:port` pairs, comma-separated (no Redis lookup needed). */
  peers: Map<string, string>;
}

export const MIN_CLUSTER_SECRET_LENGTH = 16;

/** The cluster configuration, or null without a cluster store. Throws listing every bad value. */
export function loadClusterConfig(env: Record<string, string | undefined>): ClusterConfig | null {
  const { config, problems } = parseClusterConfig(env);
  if (problems.length > 0) throw new Error(`invalid cluster configuration:\n  - ${problems.join("\n  - ")}`);
  return config;
}

const REDIS_SCHEME = /^rediss?:\/\//;
const POSTGRES_SCHEME = /^postgres(ql)?:\/\//;

/** The node URLs of a redis-sharded CLUSTER_URL (or REDIS_URL): one or more, comma-separated. */
export function clusterNodeUrls(url: string): string[] {
  return url
    .split(",")
    .map((u) => u.trim())
    .filter(Boolean);
}

/** The store and its URL from CLUSTER, CLUSTER_URL, DATABASE_URL and REDIS_URL; null when none is set. */
function chooseStore(
  env: Record<string, string | undefined>,
  problems: string[],
): { store: ClusterStore; url: string } | null {
  const chosen = env.CLUSTER?.trim().toLowerCase() || undefined;
  const clusterUrl = env.CLUSTER_URL?.trim() || undefined;
  const redisUrl = env.REDIS_URL?.trim() || undefined;
  if (chosen === undefined && clusterUrl === undefined) {
    if (!redisUrl) return null;
    if (!REDIS_SCHEME.test(redisUrl)) problems.push("REDIS_URL must start with redis:// or rediss://");
    return { store: "redis", url: redisUrl };
  }
  if (chosen !== undefined && !CLUSTER_STORES.includes(chosen as ClusterStore)) {
    problems.push('CLUSTER must be "redis", "redis-sharded" or "postgres"');
    return null;
  }
  if (chosen === "redis-sharded") {
    const url = clusterUrl ?? redisUrl;
    const urls = clusterNodeUrls(url ?? "");
    if (urls.length === 0) {
      problems.push(
        "CLUSTER=redis-sharded needs CLUSTER_URL (or REDIS_URL): one or more Redis Cluster nodes",
      );
      return null;
    }
    const bad = urls.filter((u) => !REDIS_SCHEME.test(u));
    if (bad.length > 0) {
      problems.push(
        `CLUSTER=redis-sharded: every node URL must start with redis:// or rediss:// (not ${bad.join(", ")})`,
      );
      return null;
    }
    return { store: "redis-sharded", url: urls.join(",") };
  }
  if (clusterUrl?.includes(",")) {
    problems.push("CLUSTER_URL lists several URLs: that is a Redis Cluster, set CLUSTER=redis-sharded");
    return null;
  }
  if (clusterUrl !== undefined) {
    const byScheme: ClusterStore | null = REDIS_SCHEME.test(clusterUrl)
      ? "redis"
      : POSTGRES_SCHEME.test(clusterUrl)
        ? "postgres"
        : null;
    if (byScheme === null) {
      problems.push("CLUSTER_URL must start with redis://, rediss://, postgres:// or postgresql://");
      return null;
    }
    if (chosen !== undefined && chosen !== byScheme)
      problems.push(`CLUSTER=${chosen} but CLUSTER_URL is a ${byScheme} URL`);
    return { store: byScheme, url: clusterUrl };
  }
  if (chosen === "postgres") {
    const databaseUrl = env.DATABASE_URL?.trim();
    if (!databaseUrl || !POSTGRES_SCHEME.test(databaseUrl)) {
      // The embedded PGlite lives in one process: other nodes cannot LISTEN to it.
      problems.push(
        "CLUSTER=postgres needs CLUSTER_URL or a PostgreSQL DATABASE_URL (PGlite cannot be shared)",
      );
      return null;
    }
    return { store: "postgres", url: databaseUrl };
  }
  if (!redisUrl || !REDIS_SCHEME.test(redisUrl)) {
    problems.push("CLUSTER=redis needs CLUSTER_URL or REDIS_URL (redis:// or rediss://)");
    return null;
  }
  return { store: "redis", url: redisUrl };
}

/** The cluster configuration (null without a store) and every problem found, for the app's config loader. */
export function parseClusterConfig(env: Record<string, string | undefined>): {
  config: ClusterConfig | null;
  problems: string[];
} {
  const problems: string[] = [];
  const target = chooseStore(env, problems);
  if (!target) return { config: null, problems };
  // PostgreSQL has one channel per namespace: the variable means nothing there.
  const modes: readonly string[] = target.store === "postgres" ? ["rooms"] : SUBSCRIPTION_MODES[target.store];
  const mode = (target.store !== "postgres" && env.REDIS_SUBSCRIPTION_MODE) || (modes[0] as string);
  if (!modes.includes(mode))
    problems.push(
      `REDIS_SUBSCRIPTION_MODE must be ${modes.map((m) => `"${m}"`).join(", ")} with CLUSTER=${target.store}`,
    );
  const int = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) problems.push(`${name} must be a non-negative integer`);
    return n;
  };
  const limitsTimeout = int("CLUSTER_LIMITS_TIMEOUT_MS", FALLBACK_DEFAULTS.deadlineMs);
  if (limitsTimeout < 1) problems.push("CLUSTER_LIMITS_TIMEOUT_MS must be at least 1 (ms)");
  const nodeId = env.NODE_ID || undefined;
  if (nodeId !== undefined && !isValidNodeId(nodeId)) problems.push("NODE_ID must be 1-64 of [A-Za-z0-9_-]");
  const secret = env.CLUSTER_SECRET || undefined;
  if (secret !== undefined && secret.length < MIN_CLUSTER_SECRET_LENGTH) {
    problems.push(`CLUSTER_SECRET must have at least ${MIN_CLUSTER_SECRET_LENGTH} characters`);
  }
  const peers = new Map<string, string>();
  for (const pair of (env.CLUSTER_PEERS ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [id, url] = pair.split("=", 2);
    if (!id || !url || !isValidNodeId(id) || !/^https?:\/\//.test(url))
      problems.push(`CLUSTER_PEERS: bad entry "${pair}"`);
    else peers.set(id, url.replace(/\/$/, ""));
  }
  const config: ClusterConfig = {
    ...target,
    keyPrefix: env.CLUSTER_PREFIX || env.REDIS_KEY_PREFIX || "socket.io",
    subscriptionMode: mode as SubscriptionMode | ShardedSubscriptionMode,
    requestsTimeout: int("CLUSTER_REQUEST_TIMEOUT_MS", 5000),
    limitsTimeout,
    nodeId,
    secret,
    internalHost: env.CLUSTER_INTERNAL_HOST || "127.0.0.1",
    internalPort: int("CLUSTER_INTERNAL_PORT", 0),
    advertiseUrl: env.CLUSTER_ADVERTISE_URL?.replace(/\/$/, "") || undefined,
    peers,
  };
  return { config, problems };
}
