/**
 * Environment variables of the cluster layer, parsed in one place. `REDIS_URL` turns the cluster
 * on; without it the server is a single node exactly as before.
 */
import type { SubscriptionMode } from "../../protocol/adapter/redis/index.ts";
import { isValidNodeId } from "./node-id.ts";

export interface ClusterConfig {
  /** REDIS_URL. Unset → no cluster. */
  redisUrl: string;
  /** REDIS_KEY_PREFIX: channel prefix, the official adapter's `key`. Default "socket.io". */
  keyPrefix: string;
  /** REDIS_SUBSCRIPTION_MODE: "rooms" (default, per-room channels) or "pattern" (as the official adapter). */
  subscriptionMode: SubscriptionMode;
  /** CLUSTER_REQUEST_TIMEOUT_MS: deadline of cluster requests (fetchSockets, ...). Default 5000. */
  requestsTimeout: number;
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

/** The cluster configuration, or null when REDIS_URL is unset. Throws listing every bad value. */
export function loadClusterConfig(env: Record<string, string | undefined>): ClusterConfig | null {
  const { config, problems } = parseClusterConfig(env);
  if (problems.length > 0) throw new Error(`invalid cluster configuration:\n  - ${problems.join("\n  - ")}`);
  return config;
}

/** The cluster configuration (null when REDIS_URL is unset) and every problem found, for the app's config loader. */
export function parseClusterConfig(env: Record<string, string | undefined>): {
  config: ClusterConfig | null;
  problems: string[];
} {
  const redisUrl = env.REDIS_URL?.trim();
  if (!redisUrl) return { config: null, problems: [] };
  const problems: string[] = [];
  if (!/^rediss?:\/\//.test(redisUrl)) problems.push("REDIS_URL must start with redis:// or rediss://");
  const mode = env.REDIS_SUBSCRIPTION_MODE ?? "rooms";
  if (mode !== "rooms" && mode !== "pattern")
    problems.push('REDIS_SUBSCRIPTION_MODE must be "rooms" or "pattern"');
  const int = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) problems.push(`${name} must be a non-negative integer`);
    return n;
  };
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
    redisUrl,
    keyPrefix: env.REDIS_KEY_PREFIX || "socket.io",
    subscriptionMode: mode as SubscriptionMode,
    requestsTimeout: int("CLUSTER_REQUEST_TIMEOUT_MS", 5000),
    nodeId,
    secret,
    internalHost: env.CLUSTER_INTERNAL_HOST || "127.0.0.1",
    internalPort: int("CLUSTER_INTERNAL_PORT", 0),
    advertiseUrl: env.CLUSTER_ADVERTISE_URL?.replace(/\/$/, "") || undefined,
    peers,
  };
  return { config, problems };
}
