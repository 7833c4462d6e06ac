/**
 * The wire format, checked against what the official packages really publish: the official
 * emitter runs in its own Node.js process and this suite reads the raw bytes off Redis.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient } from "redis";
import {
  decodeBroadcast,
  decodeRequest,
  decodeResponse,
  encodeBroadcast,
  encodeRequest,
  encodeResponse,
  MalformedMessageError,
  MalformedReason,
} from "../../protocol/adapter/redis/codec.ts";
import {
  broadcastChannel,
  channelsFor,
  RequestType,
  roomOfChannel,
} from "../../protocol/adapter/redis/wire.ts";
import { hasRedis, TEST_REDIS_URL } from "../support/services.ts";
import { runEmitter, uniqueKey, waitFor } from "./support.ts";

describe("channel names", () => {
  const channels = channelsFor("/chat", "abc123");

  test("match @socket.io/redis-adapter 8.x for a namespace and a node", () => {
    expect(channels.broadcast).toBe("socket.io#/chat#");
    expect(channels.request).toBe("socket.io-request#/chat#");
    expect(channels.response).toBe("socket.io-response#/chat#");
    expect(channels.specificResponse).toBe("socket.io-response#/chat#abc123#");
    expect(channels.room("conversation:7")).toBe("socket.io#/chat#conversation:7#");
  });

  test("a one-room broadcast goes to the room channel, others to the namespace channel", () => {
    expect(broadcastChannel(channels, ["r1"])).toBe("socket.io#/chat#r1#");
    expect(broadcastChannel(channels, ["r1", "r2"])).toBe("socket.io#/chat#");
    expect(broadcastChannel(channels, [])).toBe("socket.io#/chat#");
  });

  test("the room of a channel is recovered, foreign channels are recognised", () => {
    expect(roomOfChannel(channels, "socket.io#/chat#r#1#")).toBe("r#1");
    expect(roomOfChannel(channels, "socket.io#/chat#")).toBe("");
    expect(roomOfChannel(channels, "socket.io#/other#r#")).toBeNull();
    expect(roomOfChannel(channels, "socket.io#/chat#unterminated")).toBeNull();
  });
});

describe("codec", () => {
  test("a broadcast round-trips through msgpack, binary included", () => {
    const bytes = encodeBroadcast([
      "uid1",
      { type: 2, nsp: "/", data: ["ev", new Uint8Array([1, 2, 255])] },
      { rooms: ["a"], except: ["b"], flags: { volatile: true } },
    ]);
    const [uid, packet, opts] = decodeBroadcast(bytes);
    expect(uid).toBe("uid1");
    expect(packet.type).toBe(2);
    const data = packet.data as unknown[];
    expect(data[0]).toBe("ev");
    expect([...(data[1] as Uint8Array)]).toEqual([1, 2, 255]);
    expect(opts).toEqual({ rooms: ["a"], except: ["b"], flags: { volatile: true } });
  });

  test("requests are JSON except a broadcast with acks, which is msgpack", () => {
    const json = encodeRequest({ type: RequestType.ALL_ROOMS, uid: "u", requestId: "r" });
    expect(typeof json).toBe("string");
    expect(JSON.parse(json as string)).toEqual({ type: 1, uid: "u", requestId: "r" });
    const binary = encodeRequest({
      type: RequestType.BROADCAST,
      uid: "u",
      requestId: "r",
      packet: { type: 2, nsp: "/", data: ["x"] },
      opts: { rooms: [], except: [] },
    });
    expect(binary).toBeInstanceOf(Uint8Array);
    expect(decodeRequest(binary as Uint8Array).packet?.data).toEqual(["x"]);
  });

  test("responses are JSON except a client's ack, which is msgpack", () => {
    expect(typeof encodeResponse({ requestId: "r", rooms: ["a"] })).toBe("string");
    const ack = encodeResponse({ type: RequestType.BROADCAST_ACK, requestId: "r", packet: "ok" });
    expect(ack).toBeInstanceOf(Uint8Array);
    expect(decodeResponse(ack as Uint8Array)).toEqual({ type: 9, requestId: "r", packet: "ok" });
  });

  test("malformed and foreign bytes are rejected with a stable reason", () => {
    const reasonOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(MalformedMessageError);
        return (err as MalformedMessageError).reason;
      }
      return "accepted";
    };
    const bytes = (s: string) => new TextEncoder().encode(s);
    expect(reasonOf(() => decodeBroadcast(bytes("{not json")))).toBe(MalformedReason.NOT_DECODABLE);
    expect(reasonOf(() => decodeBroadcast(new Uint8Array([0xc1])))).toBe(MalformedReason.NOT_DECODABLE);
    expect(reasonOf(() => decodeBroadcast(bytes('{"a":1}')))).toBe(MalformedReason.NOT_A_BROADCAST);
    expect(
      reasonOf(() => decodeBroadcast(encodeBroadcast(["u", "nope" as never, { rooms: [], except: [] }]))),
    ).toBe(MalformedReason.BAD_PACKET);
    const opts = { rooms: [], except: [] };
    expect(
      reasonOf(() =>
        decodeBroadcast(encodeBroadcast(["u", { type: 2, data: ["e"] }, { rooms: "x" } as never])),
      ),
    ).toBe(MalformedReason.BAD_OPTIONS);
    // Only events travel as broadcasts: a CONNECT (0) or DISCONNECT (1), or data that is not an event, would break clients.
    expect(reasonOf(() => decodeBroadcast(encodeBroadcast(["u", { type: 1, nsp: "/" }, opts])))).toBe(
      MalformedReason.BAD_PACKET,
    );
    expect(reasonOf(() => decodeBroadcast(encodeBroadcast(["u", { type: 2, data: "x" }, opts])))).toBe(
      MalformedReason.BAD_PACKET,
    );
    expect(reasonOf(() => decodeRequest(bytes('{"type":99}')))).toBe(MalformedReason.NOT_A_REQUEST);
    expect(reasonOf(() => decodeRequest(bytes('{"type":6,"data":"x"}')))).toBe(MalformedReason.NOT_A_REQUEST);
    expect(reasonOf(() => decodeResponse(bytes('{"rooms":[]}')))).toBe(MalformedReason.NOT_A_RESPONSE);
  });

  test("a packet without nsp (old emitters) is read as the main namespace", () => {
    const [, packet] = decodeBroadcast(
      encodeBroadcast(["emitter", { type: 2, data: ["x"] }, { rooms: [], except: [] }]),
    );
    expect(packet.nsp).toBe("/");
  });
});

describe("what the official @socket.io/redis-emitter publishes", async () => {
  const redisUp = await hasRedis();
  const key = uniqueKey("wire");
  const captured: { channel: string; bytes: Buffer }[] = [];
  const sub = createClient({ url: TEST_REDIS_URL });

  beforeAll(async () => {
    if (!redisUp) return;
    await sub.connect();
    await sub.pSubscribe(
      `${key}*`,
      (bytes: Buffer, channel: Buffer | string) => captured.push({ channel: channel.toString(), bytes }),
      true,
    );
  });
  afterAll(async () => {
    if (sub.isOpen) await sub.close();
  });

  test.skipIf(!redisUp)("decodes byte for byte with Switchboard's codec", async () => {
    await runEmitter(TEST_REDIS_URL, key, [
      { op: "emit", rooms: ["room1"], event: "one-room", args: [1, { a: "b" }] },
      { op: "emit", rooms: ["r1", "r2"], except: ["r3"], event: "two-rooms", args: [] },
      { nsp: "/admin", op: "emit", event: "everyone" },
      { op: "socketsJoin", rooms: ["r1"], room: "r9" },
      { op: "disconnectSockets", rooms: ["r1"], close: true },
      { op: "serverSideEmit", event: "hello", args: ["x"] },
    ]);
    await waitFor("six messages", () => captured.length >= 6);

    const byChannel = (c: string) => captured.filter((m) => m.channel === c).map((m) => m.bytes);
    const [oneRoom] = byChannel(`${key}#/#room1#`);
    expect(decodeBroadcast(oneRoom as Buffer)).toEqual([
      "emitter",
      { type: 2, nsp: "/", data: ["one-room", 1, { a: "b" }] },
      { rooms: ["room1"], except: [], flags: {} },
    ]);
    const [twoRooms] = byChannel(`${key}#/#`);
    expect(decodeBroadcast(twoRooms as Buffer)[2]).toEqual({
      rooms: ["r1", "r2"],
      except: ["r3"],
      flags: {},
    });
    const [everyone] = byChannel(`${key}#/admin#`);
    expect(decodeBroadcast(everyone as Buffer)[1]).toEqual({ type: 2, nsp: "/admin", data: ["everyone"] });

    const requests = byChannel(`${key}-request#/#`).map((b) => decodeRequest(b));
    expect(requests).toEqual([
      { type: RequestType.REMOTE_JOIN, opts: { rooms: ["r1"], except: [], flags: {} }, rooms: ["r9"] },
      { type: RequestType.REMOTE_DISCONNECT, opts: { rooms: ["r1"], except: [], flags: {} }, close: true },
      { uid: "emitter", type: RequestType.SERVER_SIDE_EMIT, data: ["hello", "x"] },
    ]);
  });
});

describe("decoding arbitrary bytes", () => {
  test("either decodes or throws MalformedMessageError, never anything else", async () => {
    const fc = await import("fast-check");
    const { encode } = await import("notepack.io");
    const decoders = [decodeBroadcast, decodeRequest, decodeResponse];
    const arbitraryBytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((b) => (b.length === 0 ? new Uint8Array([0xc1]) : b)),
      fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify(v) || "null")),
      fc.jsonValue().map((v) => new Uint8Array(encode(v))),
    );
    fc.assert(
      fc.property(arbitraryBytes, (bytes) => {
        for (const decode of decoders) {
          try {
            decode(bytes);
          } catch (err) {
            if (!(err instanceof MalformedMessageError)) throw err;
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
