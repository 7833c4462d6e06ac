import { afterAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import type { EngineSocket } from "../../../protocol/engine/index.ts";
import {
  handshake,
  nextClose,
  nextConnection,
  startEngine,
  type TestEngine,
  WsClient,
  withTimeout,
} from "./helpers.ts";

const LIMIT = 64 * 1024;
const CHUNK = "x".repeat(16 * 1024);

/** A websocket client on a raw TCP socket that stops reading after the handshake. */
class StalledClient {
  private readonly bytes: Buffer[] = [];
  readonly ended: Promise<void>;
  private constructor(readonly socket: Socket) {
    this.ended = new Promise((resolve) => {
      socket.on("end", resolve);
      socket.on("close", resolve);
      socket.on("error", () => resolve());
    });
    socket.on("data", (b: Buffer) => this.bytes.push(b));
  }

  static async open(t: TestEngine): Promise<StalledClient> {
    const port = Number(new URL(t.base).port);
    const socket = connect(port, "127.0.0.1");
    const client = new StalledClient(socket);
    await withTimeout(new Promise((r) => socket.once("connect", r)), "tcp connect");
    socket.write(
      `GET ${t.engine.opts.path}?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    await withTimeout(
      (async () => {
        while (!Buffer.concat(client.bytes).includes("\r\n\r\n")) await Bun.sleep(5);
      })(),
      "upgrade answer",
    );
    socket.pause();
    return client;
  }

  /** Reads everything the server wrote and returns the close frame's code and reason, if any. */
  async closeFrame(): Promise<{ code: number; reason: string } | null> {
    this.socket.resume();
    await withTimeout(this.ended, "server to end the connection", 10_000);
    const all = Buffer.concat(this.bytes);
    let i = all.indexOf("\r\n\r\n") + 4;
    let last: { code: number; reason: string } | null = null;
    while (i + 2 <= all.length) {
      const opcode = all[i]! & 0x0f;
      let len = all[i + 1]! & 0x7f;
      let header = 2;
      if (len === 126) {
        len = all.readUInt16BE(i + 2);
        header = 4;
      } else if (len === 127) {
        len = Number(all.readBigUInt64BE(i + 2));
        header = 10;
      }
      const payload = all.subarray(i + header, i + header + len);
      if (opcode === 0x8 && payload.length >= 2) {
        last = { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString() };
      }
      i += header + len;
    }
    return last;
  }

  destroy() {
    this.socket.destroy();
  }
}

async function wsSession(t: TestEngine) {
  const connected = nextConnection(t.engine);
  const client = new WsClient(t.url({ transport: "websocket" }, "ws"));
  await client.next();
  return { client, socket: await connected };
}

/** Sends in small bursts (so a healthy reader keeps up) until `victim` closes or the budget runs out. */
async function flood(send: (i: number) => void, victim: EngineSocket, maxBursts = 2000): Promise<number> {
  let i = 0;
  for (let burst = 0; burst < maxBursts && victim.state === "open"; burst++) {
    for (let k = 0; k < 8; k++) send(i++);
    await Bun.sleep(1);
  }
  return i;
}

describe("engine backpressure", () => {
  const t = startEngine({ maxBufferedBytes: LIMIT, backpressureCheckInterval: 20, pingInterval: 60_000 });
  afterAll(() => t.close());

  test("a websocket client that stops reading is closed as 'slow client' (code 4008) on direct sends", async () => {
    const connected = nextConnection(t.engine);
    const stalled = await StalledClient.open(t);
    const victim = await connected;
    const closed = nextClose(victim, 15_000);
    let sawBackpressure = false;
    await flood(() => {
      if (victim.state === "open" && !victim.writable) sawBackpressure = true;
      victim.send(CHUNK);
    }, victim);
    expect((await closed).reason).toBe("slow client");
    // Before the limit, a backpressured socket reports itself unwritable (volatile sends skip it).
    expect(sawBackpressure).toBe(true);
    expect(victim.writable).toBe(false);
    expect(await stalled.closeFrame()).toEqual({ code: 4008, reason: "slow client" });
    stalled.destroy();
  }, 30_000);

  test("native publishes close the stalled subscriber while a healthy subscriber gets every message", async () => {
    const connected = nextConnection(t.engine);
    const stalled = await StalledClient.open(t);
    const victim = await connected;
    const healthy = await wsSession(t);
    victim.subscribe("feed");
    healthy.socket.subscribe("feed");
    const closed = nextClose(victim, 15_000);
    const sent = await flood((i) => t.engine.publish("feed", `${i}:${CHUNK}`), victim);
    expect((await closed).reason).toBe("slow client");
    for (let i = 0; i < sent; i++) {
      const frame = (await healthy.client.nextMessage()) as string;
      expect(frame.slice(0, frame.indexOf(":"))).toBe(`4${i}`);
    }
    expect(healthy.socket.state).toBe("open");
    expect(t.engine.subscriberCount("feed")).toBe(1);
    healthy.client.close();
    stalled.destroy();
  }, 30_000);

  test("a polling session whose queue passes the limit is closed as 'slow client'", async () => {
    const connected = nextConnection(t.engine);
    const { sid } = await handshake(t);
    const socket = await connected;
    const closed = nextClose(socket);
    for (let i = 0; i < 10 && socket.state === "open"; i++) socket.send(CHUNK);
    expect((await closed).reason).toBe("slow client");
    const res = await fetch(t.url({ transport: "polling", sid }), { signal: AbortSignal.timeout(3000) });
    expect(await res.json()).toEqual({ code: 1, message: "Session ID unknown" });
  });
});

describe("engine backpressure after one synchronous burst", () => {
  // The periodic check is effectively off: only the check right after a large burst can catch it.
  const t = startEngine({
    maxBufferedBytes: LIMIT,
    backpressureCheckInterval: 600_000,
    pingInterval: 60_000,
  });
  afterAll(() => t.close());

  test("a burst past Bun's hard limit closes the stalled subscriber at once, before it could drain", async () => {
    const connected = nextConnection(t.engine);
    const stalled = await StalledClient.open(t);
    const victim = await connected;
    victim.subscribe("burst");
    const closed = nextClose(victim);
    for (let i = 0; i < 1000 && victim.state === "open"; i++) {
      for (let k = 0; k < 64; k++) t.engine.publish("burst", CHUNK); // 1 MiB per tick, no await inside
      await Promise.resolve();
    }
    expect((await closed).reason).toBe("slow client");
    stalled.destroy();
  }, 30_000);
});
