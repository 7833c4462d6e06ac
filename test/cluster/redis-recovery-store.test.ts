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
const WINDOW = 1000;

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

  test("the log and the sessions sit under the namespace channel's hash tag and last one window", async () => {
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
    // A silent namespace leaves nothing behind once the window has passed.
    await waitFor(
      "the log and the sessions gone",
      async () => (await redis.keys(`${tag}*`)).length === 0,
      5000,
    );
  });

  test("a channel with a } outside a hash tag is refused (its keys could not share its slot)", () => {
    const options = { publishCommand: "PUBLISH" as const, window: WINDOW, decode: () => null };
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
