/**
 * Redis faults, on a private redis-server this suite stops and restarts: a node whose Redis is
 * down at start serves its own clients and joins the cluster when Redis appears; a node that loses
 * Redis mid-run keeps local delivery, counts what it could not forward, reconnects and
 * resubscribes. No unhandled rejection along the way.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { hasRedisServer } from "../support/services.ts";
import {
  type RecordingClient,
  recordingClient,
  type SwitchboardNode,
  startSwitchboardNode,
} from "./harness.ts";
import { PrivateRedis, uniqueKey, waitFor } from "./support.ts";

setDefaultTimeout(20_000);

const redisServerUp = hasRedisServer();
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

describe.skipIf(!redisServerUp)("Redis faults", () => {
  let redis: PrivateRedis;
  let early: SwitchboardNode;
  let other: SwitchboardNode;
  let onEarly: RecordingClient;
  let onOther: RecordingClient;
  const key = uniqueKey("faults");

  beforeAll(async () => {
    process.on("unhandledRejection", onUnhandled);
    redis = await PrivateRedis.start();
    await redis.stop();
  });

  afterAll(async () => {
    process.off("unhandledRejection", onUnhandled);
    onEarly?.close();
    onOther?.close();
    await Promise.all([early?.close(), other?.close()]);
    await redis?.stop();
  });

  test("a node whose Redis is down at start serves its own clients and reports degraded", async () => {
    early = await startSwitchboardNode("early", redis.url, {
      key,
      reconnectMinDelayMs: 50,
      reconnectMaxDelayMs: 200,
      connectTimeoutMs: 300,
      waitForRedis: false,
    });
    await waitFor("degraded", () => early.cluster.link.state === "degraded");
    onEarly = await recordingClient(early.url);
    await onEarly.join("r");
    early.io.to("r").emit("local-while-down", 1);
    await waitFor("local delivery without Redis", () => onEarly.got("local-while-down").length === 1);
    expect(early.cluster.link.counters.publishFailed).toBeGreaterThan(0);
  });

  test("it joins the cluster when Redis comes up", async () => {
    await redis.restart();
    await waitFor("connected", () => early.cluster.link.state === "connected");
    other = await startSwitchboardNode("other", redis.url, { key });
    onOther = await recordingClient(other.url);
    await onOther.join("r");
    // Its room subscriptions, made while Redis was away, were replayed on connect.
    other.io.to("r").emit("cross-after-start", 2);
    await waitFor("cross-node delivery", () => onEarly.got("cross-after-start").length === 1);
    early.io.to("r").emit("cross-back", 3);
    await waitFor("cross-node delivery back", () => onOther.got("cross-back").length === 1);
  });

  test("losing Redis mid-run keeps local delivery and counts what was not forwarded", async () => {
    const failedBefore = early.cluster.link.counters.publishFailed;
    await redis.stop();
    await waitFor("degraded", () => early.cluster.link.state === "degraded");
    early.io.to("r").emit("local-during-outage", 4);
    await waitFor("local delivery during the outage", () => onEarly.got("local-during-outage").length === 1);
    await waitFor("counted as not forwarded", () => early.cluster.link.counters.publishFailed > failedBefore);
    expect(onOther.got("local-during-outage")).toHaveLength(0);
    // Cluster requests do not hang without Redis: this node alone answers.
    const sockets = await early.io.in("r").fetchSockets();
    expect(sockets.map((s) => s.id)).toEqual([onEarly.socket.id as string]);
  });

  test("when Redis returns, both nodes reconnect and resubscribe, and delivery crosses again", async () => {
    await redis.restart();
    await waitFor(
      "both connected",
      () => early.cluster.link.state === "connected" && other.cluster.link.state === "connected",
    );
    expect(early.cluster.link.counters.reconnects).toBeGreaterThan(0);
    await waitFor(
      "cross-node delivery after the restart",
      () => {
        other.io.to("r").emit("after-restart", 5);
        return onEarly.got("after-restart").length > 0;
      },
      10_000,
    );
    expect(await early.io.of("/").adapter.serverCount()).toBe(2);
  });

  test("no promise was left rejected and unhandled", () => {
    expect(unhandled).toEqual([]);
  });
});
