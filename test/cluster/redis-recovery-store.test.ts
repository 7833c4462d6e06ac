/**
 * Where the Redis adapters keep recovery state: the namespace's log and sessions under its channel
 * as hash tag (one slot on a Redis Cluster), each bounded by `maxDisconnectionDuration`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient } from "redis";
import { io as connect } from "socket.io-client";
import { RedisRecoveryStore } from "../../protocol/adapter/redis/recovery.ts";
import { hasRedis, TEST_REDIS_URL } from "../support/services.ts";
import { type SwitchboardNode, startSwitchboardNode } from "./harness.ts";
import { uniqueKey, waitFor, within } from "./support.ts";

const redisUp = await hasRedis();
const WINDOW = 10_000;

describe.skipIf(!redisUp)("recovery state in Redis", () => {
  const key = uniqueKey("recovery-store");
  const tag = `{${key}#/#}`;
  let node: SwitchboardNode;
  const redis = createClient({ url: TEST_REDIS_URL });
  beforeAll(async () => {
    await redis.connect();
    node = await startSwitchboardNode("sb", TEST_REDIS_URL, {
      key,
      extra: { connectionStateRecovery: { maxDisconnectionDuration: WINDOW } },
    });
  });
  afterAll(async () => {
    await node?.close();
    await redis.close();
  });

  test("the log and the sessions sit under the namespace channel's hash tag, within one window, and a session that left goes", async () => {
    const client = connect(node.url, { transports: ["websocket"], forceNew: true, reconnection: false });
    try {
      await within("connect", new Promise((resolve) => client.once("connect", () => resolve(null))));
      const offsets: string[] = [];
      client.on("tick", (_n: number, offset: string) => offsets.push(offset));
      node.io.emit("tick", 1);
      await waitFor("a tick with its offset", () => offsets.length === 1);
      const log = `${tag}recovery-log`;
      const entries = await redis.xRange(log, "-", "+");
      expect(entries?.map((e) => e.id)).toEqual(offsets);
      const logTtl = await redis.pTTL(log);
      expect(logTtl).toBeGreaterThan(0);
      expect(logTtl).toBeLessThanOrEqual(WINDOW);
      const sessions = await redis.keys(`${tag}recovery-session:*`);
      expect(sessions.length).toBe(1);
      const sessionTtl = await redis.pTTL(sessions[0] as string);
      expect(sessionTtl).toBeGreaterThan(0);
      expect(sessionTtl).toBeLessThanOrEqual(WINDOW);
    } finally {
      client.close();
    }
    // The client left for good (not a recoverable reason): its session goes at once, not at its TTL.
    await waitFor(
      "the session dropped",
      async () => (await redis.keys(`${tag}recovery-session:*`)).length === 0,
    );
  });

  test("a silent log expires after one window", async () => {
    const channel = `${uniqueKey("silent")}#/#`;
    const store = new RedisRecoveryStore(
      { evalScript: (script, keys, args) => redis.eval(script, { keys, arguments: args }) },
      { channel, publishCommand: "PUBLISH", window: 300, maxEntries: 10_000, decode: () => null },
    );
    const offset = await store.append(Buffer.from("head"), Buffer.from("tail"), "msgpack");
    expect(offset).toMatch(/^\d+-\d+$/);
    expect(await redis.exists(store.logKey)).toBe(1);
    await waitFor("the log expired", async () => (await redis.exists(store.logKey)) === 0);
  });

  test("the log keeps at most maxStoredPackets broadcasts, the oldest go first", async () => {
    const channel = `${uniqueKey("bounded")}#/#`;
    const store = new RedisRecoveryStore(
      { evalScript: (script, keys, args) => redis.eval(script, { keys, arguments: args }) },
      { channel, publishCommand: "PUBLISH", window: WINDOW, maxEntries: 3, decode: () => null },
    );
    const offsets: string[] = [];
    for (let i = 0; i < 5; i++)
      offsets.push(await store.append(Buffer.from("h"), Buffer.from("t"), "msgpack"));
    const kept = await redis.xRange(store.logKey, "-", "+");
    expect(kept?.map((e) => e.id)).toEqual(offsets.slice(2));
    await redis.del(store.logKey);
  });

  test("a channel with a } outside a hash tag is refused (its keys could not share its slot)", () => {
    const options = {
      publishCommand: "PUBLISH" as const,
      window: WINDOW,
      maxEntries: 10,
      decode: () => null,
    };
    const runner = { evalScript: async () => null };
    expect(() => new RedisRecoveryStore(runner, { ...options, channel: "a}b#/#" })).toThrow();
    expect(new RedisRecoveryStore(runner, { ...options, channel: "x{t}y#/#" }).logKey).toBe(
      "x{t}y#/#recovery-log",
    );
    expect(new RedisRecoveryStore(runner, { ...options, channel: "socket.io#/#" }).logKey).toBe(
      "{socket.io#/#}recovery-log",
    );
  });
});
