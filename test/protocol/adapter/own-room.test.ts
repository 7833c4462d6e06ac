/**
 * The in-memory adapter keeps a socket that is only in its own room with one Set (its rooms and the
 * room's members are the same `{id}`), and ends the sharing before either side changes: rooms,
 * members, events and subscriptions stay socket.io-adapter's whatever the order of joins and leaves.
 * Fed straight through the adapter's methods, with a namespace that records subscriptions.
 */
import { describe, expect, test } from "bun:test";
import { Adapter } from "../../../protocol/adapter/adapter.ts";
import type { AnyNamespace } from "../../../protocol/adapter/host.ts";

interface Recorded {
  adapter: Adapter;
  events: string[];
  topics: Map<string, Set<string>>;
}

/** An adapter over a namespace whose sockets `ids` record their engine subscriptions. */
function adapterWith(ids: string[]): Recorded {
  const topics = new Map<string, Set<string>>();
  const sockets = new Map(
    ids.map((id) => {
      const subscribed = new Set<string>();
      topics.set(id, subscribed);
      const conn = {
        subscribe: (t: string) => subscribed.add(t),
        unsubscribe: (t: string) => subscribed.delete(t),
      };
      return [id, { id, conn }] as const;
    }),
  );
  const nsp = { name: "/", sockets } as unknown as AnyNamespace;
  const adapter = new Adapter(nsp);
  const events: string[] = [];
  for (const ev of ["create-room", "delete-room", "join-room", "leave-room"] as const) {
    adapter.on(ev, (...args: string[]) => events.push(`${ev} ${args.join(" ")}`));
  }
  return { adapter, events, topics };
}

const sorted = (set: Set<string> | undefined) => (set ? [...set].sort() : undefined);

describe("a socket's own room", () => {
  test("a socket in its own room only is one Set for both its rooms and the room's members", () => {
    const { adapter, events, topics } = adapterWith(["A"]);
    adapter.addAll("A", new Set(["A"]));
    expect(adapter.rooms.get("A")).toBe(adapter.sids.get("A")!);
    expect(sorted(adapter.sids.get("A"))).toEqual(["A"]);
    expect(events).toEqual(["create-room A", "join-room A A"]);
    expect(topics.get("A")!.size).toBe(1);
  });

  test("joining another room leaves the own room's members as they were", () => {
    const { adapter } = adapterWith(["A"]);
    adapter.addAll("A", new Set(["A"]));
    const roomsOfA = adapter.sids.get("A")!;
    adapter.addAll("A", new Set(["r"]));
    // The socket keeps its Set (socket.rooms read earlier stays live), the room got a copy.
    expect(adapter.sids.get("A")).toBe(roomsOfA);
    expect(sorted(roomsOfA)).toEqual(["A", "r"]);
    expect(sorted(adapter.rooms.get("A"))).toEqual(["A"]);
    expect(sorted(adapter.rooms.get("r"))).toEqual(["A"]);
  });

  test("another socket joining a socket's own room does not change that socket's rooms", () => {
    const { adapter, events } = adapterWith(["A", "B"]);
    adapter.addAll("A", new Set(["A"]));
    adapter.addAll("B", new Set(["B"]));
    events.length = 0;
    adapter.addAll("B", new Set(["A"]));
    expect(sorted(adapter.sids.get("A"))).toEqual(["A"]);
    expect(sorted(adapter.rooms.get("A"))).toEqual(["A", "B"]);
    expect(sorted(adapter.sids.get("B"))).toEqual(["A", "B"]);
    expect(events).toEqual(["join-room A B"]);
    adapter.del("B", "A");
    expect(sorted(adapter.rooms.get("A"))).toEqual(["A"]);
    expect(sorted(adapter.sids.get("A"))).toEqual(["A"]);
  });

  test("leaving the own room tells listeners and ends the subscription", () => {
    const { adapter, events, topics } = adapterWith(["A"]);
    adapter.addAll("A", new Set(["A"]));
    events.length = 0;
    adapter.del("A", "A");
    expect(events).toEqual(["leave-room A A", "delete-room A"]);
    expect(adapter.rooms.has("A")).toBe(false);
    expect(sorted(adapter.sids.get("A"))).toEqual([]);
    expect(topics.get("A")!.size).toBe(0);
  });

  test("disconnecting leaves the own room with socket.io's events and keeps the socket's last rooms", () => {
    const { adapter, events, topics } = adapterWith(["A"]);
    adapter.addAll("A", new Set(["A"]));
    const roomsOfA = adapter.sids.get("A")!;
    events.length = 0;
    adapter.delAll("A");
    expect(events).toEqual(["leave-room A A", "delete-room A"]);
    expect(adapter.rooms.size).toBe(0);
    expect(adapter.sids.size).toBe(0);
    // As socket.io-adapter's delAll: the socket's Set is dropped from the map, not emptied.
    expect(sorted(roomsOfA)).toEqual(["A"]);
    expect(topics.get("A")!.size).toBe(0);
  });

  test("rooms joined together with the own room at connect are kept apart from it", () => {
    const { adapter } = adapterWith(["A"]);
    adapter.addAll("A", new Set(["A", "r"]));
    expect(sorted(adapter.sids.get("A"))).toEqual(["A", "r"]);
    expect(sorted(adapter.rooms.get("A"))).toEqual(["A"]);
    adapter.delAll("A");
    expect(adapter.rooms.size).toBe(0);
  });
});
