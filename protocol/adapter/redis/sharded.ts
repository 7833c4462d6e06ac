/**
 * Sharded Redis scale-out (Redis Cluster, Redis 7 sharded pub/sub), wire-compatible with
 * `createShardedAdapter` of `@socket.io/redis-adapter` 8.3:
 *
 * ```ts
 * const cluster = createShardedRedisCluster({ rootUrls: ["redis://10.0.0.1:7000"], subscriptionMode: "dynamic" });
 * await cluster.ready;
 * const io = new Server({ adapter: cluster.adapter });
 * ```
 */
import { ShardedRedisAdapter, type ShardedRedisAdapterOptions } from "./sharded-adapter.ts";
import { ShardedRedisLink, type ShardedRedisLinkOptions } from "./sharded-link.ts";

export {
  ShardedRedisAdapter,
  type ShardedRedisAdapterOptions,
  type ShardedSubscriptionMode,
} from "./sharded-adapter.ts";
export { ShardedRedisLink, type ShardedRedisLinkOptions } from "./sharded-link.ts";

export interface ShardedRedisClusterOptions extends ShardedRedisLinkOptions, ShardedRedisAdapterOptions {}

export interface ShardedRedisCluster {
  readonly link: ShardedRedisLink;
  /** Resolves once both cluster clients are connected (or the link is degraded). */
  readonly ready: Promise<void>;
  readonly adapter: (nsp: ConstructorParameters<typeof ShardedRedisAdapter>[0]) => ShardedRedisAdapter;
  close(): Promise<void>;
}

export function createShardedRedisCluster(options: ShardedRedisClusterOptions): ShardedRedisCluster {
  const link = new ShardedRedisLink(options);
  const ready = link.start();
  return {
    link,
    ready,
    adapter: (nsp) => new ShardedRedisAdapter(nsp, link, options),
    close: () => link.close(),
  };
}

export { ShardedEmitter, type ShardedEmitterOptions } from "./sharded-emitter.ts";
