/**
 * The Socket.IO behavioural suite over websocket with the classic Redis adapter, then the sharded
 * one on a private Redis Cluster, on every server, recovery tests included (sessions and
 * broadcasts kept in Redis): a single node must behave exactly as with the in-memory adapter.
 * Each server gets its own key prefix.
 */
import { afterAll, beforeAll } from "bun:test";
import { RedisAdapter, RedisLink } from "../../protocol/adapter/redis/index.ts";
import { ShardedRedisAdapter, ShardedRedisLink } from "../../protocol/adapter/redis/sharded.ts";
import { socketBehaviourSuite } from "../protocol/socketio/behaviour.ts";
import { TRANSPORTS } from "../protocol/socketio/support.ts";
import { hasRedis, TEST_REDIS_URL } from "../support/services.ts";
import { hasRedisCluster, RedisCluster } from "./redis-cluster.ts";
import { uniqueKey, waitFor } from "./support.ts";

const redisUp = await hasRedis();
const clusterAvailable = hasRedisCluster();
if (!clusterAvailable && process.env.CI === "true")
  throw new Error("redis-server and redis-cli are required in CI");
let link: RedisLink;
let cluster: RedisCluster;
let shardedLink: ShardedRedisLink;

if (redisUp) {
  beforeAll(async () => {
    link = new RedisLink({ url: TEST_REDIS_URL });
    link.start();
    await waitFor("connected to Redis", () => link.state === "connected");
  });
  afterAll(async () => {
    await link?.close();
  });

  socketBehaviourSuite(TRANSPORTS.websocket, {
    label: "classic Redis adapter",
    recovery: true,
    serverOptions: () => {
      const key = uniqueKey("behaviour");
      return { adapter: (nsp) => new RedisAdapter(nsp, link, { key }) };
    },
  });
}

if (clusterAvailable) {
  beforeAll(async () => {
    cluster = await RedisCluster.start();
    shardedLink = new ShardedRedisLink({ rootUrls: [cluster.url] });
    await shardedLink.start();
  }, 60_000);
  afterAll(async () => {
    await shardedLink?.close();
    cluster?.stop();
  });

  socketBehaviourSuite(TRANSPORTS.websocket, {
    label: "sharded Redis adapter",
    recovery: true,
    serverOptions: () => {
      const channelPrefix = uniqueKey("behaviour");
      return { adapter: (nsp) => new ShardedRedisAdapter(nsp, shardedLink, { channelPrefix }) };
    },
  });
}
