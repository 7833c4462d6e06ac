/**
 * Redis scale-out for the Socket.IO layer, wire-compatible with `@socket.io/redis-adapter` 8.x and
 * `@socket.io/redis-emitter`:
 *
 * ```ts
 * const cluster = createRedisCluster({ url: process.env.REDIS_URL });
 * const io = new Server({ adapter: cluster.adapter });
 * cluster.link.state;       // "connecting" | "connected" | "degraded" | "closed"
 * cluster.link.counters;    // published, publishFailed, received, malformed, reconnects, ...
 * ```
 */
import { RedisAdapter, type RedisAdapterOptions } from "./adapter.ts";
import { RedisLink, type RedisLinkOptions } from "./link.ts";

export {
  REDIS_ADAPTER_DEFAULTS,
  RedisAdapter,
  type RedisAdapterOptions,
  type RemoteSocketDetails,
} from "./adapter.ts";
export { type LinkCounters, type LinkState, RedisLink, type RedisLinkOptions } from "./link.ts";
export { ClusterTimeoutError } from "./requests.ts";
export type { SubscriptionMode } from "./subscriptions.ts";

export interface RedisClusterOptions extends RedisLinkOptions, RedisAdapterOptions {}

export interface RedisCluster {
  /** The node's Redis connection (state, counters), shared by every namespace. */
  readonly link: RedisLink;
  /** Pass as the server's `adapter` option: builds one RedisAdapter per namespace. */
  readonly adapter: (nsp: ConstructorParameters<typeof RedisAdapter>[0]) => RedisAdapter;
  close(): Promise<void>;
}

/** Connects to Redis in the background (never throws when it is down) and returns the adapter factory. */
export function createRedisCluster(options: RedisClusterOptions): RedisCluster {
  const link = new RedisLink(options);
  link.start();
  return {
    link,
    adapter: (nsp) => new RedisAdapter(nsp, link, options),
    close: () => link.close(),
  };
}
