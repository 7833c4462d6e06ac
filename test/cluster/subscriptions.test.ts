/**
 * What each subscription mode costs a node, measured with many rooms: in "pattern" mode (the
 * official adapter's way) a node reads every room's broadcasts; in "rooms" mode it reads only those
 * of rooms it holds. Counted as messages received from Redis by the node's link.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { hasRedis, TEST_REDIS_URL } from "../support/services.ts";
import {
  type RecordingClient,
  recordingClient,
  type SwitchboardNode,
  startSwitchboardNode,
} from "./harness.ts";
import { uniqueKey, waitFor } from "./support.ts";

setDefaultTimeout(20_000);
const redisUp = await hasRedis();
const ROOMS = 300;
const HELD_BY_SMALL = 10;

describe.skipIf(!redisUp)(`subscription modes with ${ROOMS} rooms`, () => {
  const key = uniqueKey("subs");
  let publisher: SwitchboardNode;
  let idleRooms: SwitchboardNode;
  let idlePattern: SwitchboardNode;
  let smallRooms: SwitchboardNode;
  let member: RecordingClient;
  let smallMember: RecordingClient;

  beforeAll(async () => {
    [publisher, idleRooms, idlePattern, smallRooms] = await Promise.all([
      startSwitchboardNode("publisher", TEST_REDIS_URL, { key }),
      startSwitchboardNode("idle-rooms", TEST_REDIS_URL, { key, subscriptionMode: "rooms" }),
      startSwitchboardNode("idle-pattern", TEST_REDIS_URL, { key, subscriptionMode: "pattern" }),
      startSwitchboardNode("small-rooms", TEST_REDIS_URL, { key, subscriptionMode: "rooms" }),
    ]);
    member = await recordingClient(publisher.url);
    smallMember = await recordingClient(smallRooms.url);
    for (let i = 0; i < HELD_BY_SMALL; i++) await smallMember.join(`room-${i}`);
  });

  afterAll(async () => {
    member?.close();
    smallMember?.close();
    await Promise.all([publisher, idleRooms, idlePattern, smallRooms].map((node) => node?.close()));
  });

  test("a node reads only the broadcasts of the rooms it holds in rooms mode, all of them in pattern mode", async () => {
    const before = [idleRooms, idlePattern, smallRooms].map((node) => node.cluster.link.counters.received);
    for (let i = 0; i < ROOMS; i++) publisher.io.to(`room-${i}`).emit("tick", i);
    await waitFor(
      "the small node's members got their rooms",
      () => smallMember.got("tick").length === HELD_BY_SMALL,
    );
    // The pattern node reads everything: once it has all of them, every publish has crossed Redis.
    await waitFor(
      "pattern node read every broadcast",
      () => idlePattern.cluster.link.counters.received - (before[1] ?? 0) >= ROOMS,
    );
    const [readByIdleRooms, readByPattern, readBySmall] = [idleRooms, idlePattern, smallRooms].map(
      (node, i) => node.cluster.link.counters.received - (before[i] ?? 0),
    );
    console.log(
      `  ${ROOMS} one-room broadcasts → read by: idle node in rooms mode ${readByIdleRooms}, ` +
        `idle node in pattern mode ${readByPattern}, node holding ${HELD_BY_SMALL} rooms in rooms mode ${readBySmall}`,
    );
    expect(readByIdleRooms).toBe(0);
    expect(readByPattern).toBe(ROOMS);
    expect(readBySmall).toBe(HELD_BY_SMALL);
  });

  test("a room's channel is dropped when its last local member leaves", async () => {
    const before = smallRooms.cluster.link.counters.received;
    smallMember.close();
    await waitFor("rooms emptied", () => !smallRooms.io.of("/").adapter.rooms.has("room-0"));
    // A publish + round trip after the unsubscribe: the unsubscribe was processed first on the same connection.
    await Bun.sleep(100);
    publisher.io.to("room-0").emit("tick", "after");
    publisher.io.emit("everyone");
    await waitFor(
      "the namespace-wide broadcast arrived",
      () => smallRooms.cluster.link.counters.received > before,
    );
    await Bun.sleep(50);
    expect(smallRooms.cluster.link.counters.received - before).toBe(1);
  });
});
