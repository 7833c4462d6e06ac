/**
 * The session-aware in-memory adapter on its own: which stored broadcasts a restored session gets
 * back (rooms and exclusions as the socket had them), offsets, and expiry.
 */
import { afterAll, expect, setSystemTime, test } from "bun:test";
import { PacketType, Server, SessionAwareAdapter } from "../../../protocol/index.ts";

const io = new Server({ connectionStateRecovery: { maxDisconnectionDuration: 1000 } });
const adapter = io.sockets.adapter as SessionAwareAdapter;

afterAll(async () => {
  setSystemTime();
  await io.close();
});

function emit(data: unknown[], rooms: string[] = [], except: string[] = [], flags = {}) {
  const packet = { type: PacketType.EVENT, nsp: "/", data: [...data] };
  adapter.broadcast(packet, { rooms: new Set(rooms), except: new Set(except), flags });
  return packet.data.at(-1) as string;
}

test("the default adapter with recovery on is the session-aware one", () => {
  expect(adapter).toBeInstanceOf(SessionAwareAdapter);
});

test("a restored session gets exactly the broadcasts its rooms would have received, in order", async () => {
  const offset = emit(["first"]);
  adapter.persistSession({ sid: "s1", pid: "p1", rooms: ["s1", "news"], data: { n: 1 } });
  emit(["everyone"]);
  emit(["news"], ["news"]);
  emit(["sports"], ["sports"]);
  emit(["news-but-not-s1"], ["news"], ["s1"]);
  emit(["direct"], ["s1"]);
  emit(["volatile"], [], [], { volatile: true });
  const ackPacket = { type: PacketType.EVENT, nsp: "/", data: ["acked"], id: 99 };
  adapter.broadcast(ackPacket, { rooms: new Set(), except: new Set() });
  expect(ackPacket.data).toEqual(["acked"]);

  const session = await adapter.restoreSession("p1", offset);
  expect(session?.sid).toBe("s1");
  expect(session?.rooms).toEqual(["s1", "news"]);
  expect(session?.data).toEqual({ n: 1 });
  expect(session?.missedPackets.map((data) => data[0])).toEqual(["everyone", "news", "direct"]);
  // Each replayed packet still carries its own offset last.
  expect(session?.missedPackets.every((data) => typeof data.at(-1) === "string")).toBe(true);
  // A session is restored once.
  expect(await adapter.restoreSession("p1", offset)).toBeNull();
});

test("an unknown pid or offset restores nothing", async () => {
  const offset = emit(["x"]);
  adapter.persistSession({ sid: "s2", pid: "p2", rooms: ["s2"], data: {} });
  expect(await adapter.restoreSession("nope", offset)).toBeNull();
  expect(await adapter.restoreSession("p2", "not-an-offset")).toBeNull();
});

test("a session older than maxDisconnectionDuration is gone", async () => {
  const offset = emit(["x"]);
  adapter.persistSession({ sid: "s3", pid: "p3", rooms: ["s3"], data: {} });
  setSystemTime(new Date(Date.now() + 1500));
  expect(await adapter.restoreSession("p3", offset)).toBeNull();
  setSystemTime();
});

test("the store keeps at most maxStoredPackets broadcasts: a client whose offset was dropped starts fresh", async () => {
  const small = new Server({
    connectionStateRecovery: { maxDisconnectionDuration: 60_000, maxStoredPackets: 20 },
  });
  const store = small.sockets.adapter as SessionAwareAdapter;
  const send = (n: number) => {
    const packet = { type: PacketType.EVENT, nsp: "/", data: [n] as unknown[] };
    store.broadcast(packet, { rooms: new Set(), except: new Set(), flags: {} });
    return packet.data.at(-1) as string;
  };
  try {
    const dropped = send(0);
    for (let n = 1; n < 30; n++) send(n);
    store.persistSession({ sid: "a", pid: "pa", rooms: ["a"], data: {} });
    expect(await store.restoreSession("pa", dropped)).toBeNull();

    // An offset still in the store restores every later broadcast, in order, however many there are.
    const kept = send(100);
    store.persistSession({ sid: "b", pid: "pb", rooms: ["b"], data: {} });
    for (let n = 101; n < 110; n++) send(n);
    const session = await store.restoreSession("pb", kept);
    expect(session?.missedPackets.map((data) => data[0])).toEqual([
      101, 102, 103, 104, 105, 106, 107, 108, 109,
    ]);
    // Offsets from another server, or mangled, restore nothing.
    store.persistSession({ sid: "c", pid: "pc", rooms: ["c"], data: {} });
    expect(await store.restoreSession("pc", `${kept.slice(0, -1)}zz`)).toBeNull();
    expect(await store.restoreSession("pc", `XXXXXXXX${kept.slice(8)}`)).toBeNull();
  } finally {
    await small.close();
  }
});
