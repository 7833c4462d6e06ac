/**
 * The limits' atomic operations in Redis, one Lua script each (a script runs alone on the server,
 * so two nodes can never both see room for one more connection or one more token). Every key
 * names one user and sits under `switchboard:<prefix>:`; each expires by itself when unused, and
 * with Redis Cluster every script touches keys of one hash slot (`{userId}`), so the cluster client
 * sends each command to the shard owning that slot (`redisClusterLimitStores`).
 */
import type { ConnectionEntry, ConnectionStore, RateStore } from "./shared-store.ts";

/** The node-redis call used (the Redis link's command client satisfies it). */
export interface RedisScripting {
  sendCommand(args: string[]): Promise<unknown>;
}

/** The node-redis cluster client's call: routed to the shard owning `firstKey`'s slot. */
export interface RedisClusterScripting {
  sendCommand(firstKey: string, isReadonly: boolean, args: string[]): Promise<unknown>;
}

/** Sends one command whose keys all hash to the slot of `key`. */
type Send = (key: string, args: string[]) => Promise<unknown>;

/** KEYS: bucket. ARGV: tokens per ms, burst, count. Refill from the server's clock, then take up to count whole tokens. */
const TAKE_TOKEN = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local granted = math.min(tonumber(ARGV[3]), math.floor(tokens))
if granted < 0 then granted = 0 end
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return granted`;

/**
 * KEYS: connections (zset, score = connection time), leases (zset, score = lease end).
 * ARGV: connection id, connection time, max, lease ms. Drops lapsed leases, adds the connection,
 * evicts the oldest beyond max; returns the evicted ids.
 */
const OPEN_CONNECTION = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, id in ipairs(lapsed) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
local lease = tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], tonumber(ARGV[2]), ARGV[1])
redis.call('ZADD', KEYS[2], now + lease, ARGV[1])
local max = tonumber(ARGV[3])
local count = redis.call('ZCARD', KEYS[1])
local evicted = {}
if count > max then
  evicted = redis.call('ZRANGE', KEYS[1], 0, count - max - 1)
  for _, id in ipairs(evicted) do
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
  end
end
for i = 1, 2 do redis.call('PEXPIRE', KEYS[i], lease) end
return evicted`;

/** KEYS: connections, leases. ARGV: connection id, lease ms. Extends a connection still listed. */
const REFRESH_CONNECTION = `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
redis.call('ZADD', KEYS[2], now + lease, ARGV[1])
for i = 1, 2 do redis.call('PEXPIRE', KEYS[i], lease) end
return 1`;

export function redisLimitStores(
  redis: RedisScripting,
  prefix: string,
): { connections: ConnectionStore; rate: RateStore } {
  return limitStores((_key, args) => redis.sendCommand(args), prefix);
}

/** The same stores on a Redis Cluster (CLUSTER=redis-sharded): each command goes to its key's shard. */
export function redisClusterLimitStores(
  cluster: RedisClusterScripting,
  prefix: string,
): { connections: ConnectionStore; rate: RateStore } {
  return limitStores((key, args) => cluster.sendCommand(key, false, args), prefix);
}

function limitStores(send: Send, prefix: string): { connections: ConnectionStore; rate: RateStore } {
  const base = `switchboard:${prefix}`;
  // The hash tag keeps one user's keys in one slot of a Redis Cluster.
  const connectionKeys = (userId: string): [string, string] => [
    `${base}:conns:{${userId}}`,
    `${base}:leases:{${userId}}`,
  ];
  const evalScript = (script: string, keys: [string, ...string[]], args: (string | number)[]) =>
    send(keys[0], ["EVAL", script, String(keys.length), ...keys, ...args.map(String)]);
  return {
    connections: {
      async open(entry: ConnectionEntry, max: number, leaseMs: number) {
        const evicted = await evalScript(OPEN_CONNECTION, connectionKeys(entry.userId), [
          entry.connectionId,
          entry.connectedAt,
          max,
          leaseMs,
        ]);
        return Array.isArray(evicted) ? evicted.map(String) : [];
      },
      async close(entry) {
        const [conns, leases] = connectionKeys(entry.userId);
        await Promise.all([
          send(conns, ["ZREM", conns, entry.connectionId]),
          send(leases, ["ZREM", leases, entry.connectionId]),
        ]);
      },
      async refresh(entries, leaseMs: number) {
        await Promise.all(
          entries.map((entry) =>
            evalScript(REFRESH_CONNECTION, connectionKeys(entry.userId), [entry.connectionId, leaseMs]),
          ),
        );
      },
    },
    rate: {
      async take(key: string, ratePerSecond: number, burst: number, count: number) {
        const granted = await evalScript(
          TAKE_TOKEN,
          [`${base}:rate:{${key}}`],
          [ratePerSecond / 1000, burst, count],
        );
        return Number(granted) || 0;
      },
    },
  };
}
