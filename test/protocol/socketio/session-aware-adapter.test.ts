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
