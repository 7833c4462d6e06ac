/**
 * The engine's publish bookkeeping without sockets: one native publish per server and frame, and
 * the per-turn memory of published topics (volatile packets ask it) that never forgets a topic of
 * the current turn and does not grow without bound.
 */
import { describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { Fanout } from "../../../protocol/engine/fanout.ts";
import type { EngineWsData } from "../../../protocol/engine/session.ts";

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

function fakeServer() {
  const published: [string, string | Uint8Array, boolean][] = [];
  const server = {
    publish(topic: string, data: string | Uint8Array, compress: boolean) {
      published.push([topic, data, compress]);
      return 1;
    },
    subscriberCount: () => 0,
  };
  return { server: server as unknown as Server<EngineWsData>, published };
}

function fanout(servers: Server<EngineWsData>[]) {
  return new Fanout(
    { maxBufferedBytes: 1 << 30, backpressureCheckInterval: 1000 },
    () => servers,
    () => [],
  );
}

describe("engine fan-out", () => {
  test("one frame or several go to every server, encoded as message packets, in order", () => {
    const a = fakeServer();
    const b = fakeServer();
    const f = fanout([a.server, b.server]);
    const bytes = new Uint8Array([1, 2]);
    f.publish("t", '2["ev"]');
    f.publish("u", ['51-["ev",{"_placeholder":true,"num":0}]', bytes], { compress: false });
    const expected: [string, string | Uint8Array, boolean][] = [
      ["t", '42["ev"]', false],
      ["u", '451-["ev",{"_placeholder":true,"num":0}]', false],
      ["u", bytes, false],
    ];
    expect(a.published).toEqual(expected);
    expect(b.published).toEqual(expected);
  });

  test("a topic published in this turn is remembered until the turn ends, however many topics follow", async () => {
    const f = fanout([fakeServer().server]);
    await nextTurn();
    for (let i = 0; i < 5000; i++) f.publish(`room-${i}`, "2[]");
    expect(f.publishedThisTurn("room-0")).toBe(true);
    expect(f.publishedThisTurn("room-4999")).toBe(true);
    expect(f.publishedThisTurn("elsewhere")).toBe(false);
    await nextTurn();
    expect(f.publishedThisTurn("room-0")).toBe(false);
    f.publish("room-1", "2[]");
    expect(f.publishedThisTurn("room-1")).toBe(true);
    expect(f.publishedThisTurn("room-0")).toBe(false);
    // The memory of earlier turns was dropped at this turn's first publish.
    expect((f as unknown as { nativeTopicTurns: Map<string, number> }).nativeTopicTurns.size).toBe(1);
  });
});
