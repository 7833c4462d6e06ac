/**
 * Transport faults against a live Socket.IO server with small heartbeat and buffer limits: a peer
 * that goes silent (half-open TCP), a peer that stops reading, a polling client that vanishes in
 * the middle of a request, and slowloris POST bodies. Every case checks that the server frees the
 * session within a bound AND that a healthy client on the same server keeps working.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { Server } from "../../protocol/index.ts";
import { RawWs } from "./support/raw-ws.ts";
import { connectStock, type StockSocket } from "./support/stock.ts";
import { fetchBounded, waitFor, withTimeout } from "./support/wait.ts";

const PING_INTERVAL = 300;
const PING_TIMEOUT = 300;
/** Heartbeat detection bound: one interval plus one timeout, with room for a loaded machine. */
const HEARTBEAT_BOUND_MS = (PING_INTERVAL + PING_TIMEOUT) * 4;
const BUFFER_LIMIT = 64 * 1024;
const CHUNK = "x".repeat(16 * 1024);
const PATH = "/socket.io/?EIO=4&transport=websocket";

describe("transport faults", () => {
  const io = new Server({
    pingInterval: PING_INTERVAL,
    pingTimeout: PING_TIMEOUT,
    maxBufferedBytes: BUFFER_LIMIT,
    backpressureCheckInterval: 20,
  });
  /** Disconnect reason by socket id, as the server saw it. */
  const reasons = new Map<string, string>();
  let base = "";
  let healthy: StockSocket;
  let healthyReceived = 0;
  let halfSent: Promise<void>;

  beforeAll(async () => {
    io.on("connection", (socket) => {
      socket.join("feed");
      socket.on("echo", (value: unknown, ack: (v: unknown) => void) => ack(value));
      socket.on("disconnect", (reason) => reasons.set(socket.id, reason));
    });
    const server = io.listen(0, "127.0.0.1");
    base = `http://127.0.0.1:${server.port}`;
    healthy = await connectStock(base);
    healthy.on("big", () => healthyReceived++);
    // Opened first and checked last, so Bun's 10 s request idle timeout runs during the other cases.
    const url = new URL(base);
    const socket = connect(Number(url.port), url.hostname);
    halfSent = new Promise<void>((resolve) =>
      socket.on("close", () => resolve()).on("error", () => resolve()),
    );
    await withTimeout(new Promise((r) => socket.once("connect", r)), "tcp connect");
    // Half a request, then silence.
    socket.write(`GET ${PATH} HTTP/1.1\r\nHost: ${url.host}\r\n`);
  });

  afterAll(async () => {
    healthy?.close();
    await io.close();
  });

  /** The bystander answers an ack round trip and is still connected. */
  async function expectHealthyUnaffected(): Promise<void> {
    expect(healthy.connected).toBe(true);
    expect(await healthy.timeout(2000).emitWithAck("echo", "still here")).toBe("still here");
  }

  const sidOf = (connectAnswer: string): string =>
    (JSON.parse(connectAnswer.slice(2)) as { sid: string }).sid;

  test("a half-open websocket peer that never answers pings is dropped with 'ping timeout'", async () => {
    const { ws } = await RawWs.open(base, PATH, { answerPings: false });
    const sid = sidOf(await ws.connectSocketIo());
    await waitFor(
      () => reasons.get(sid) === "ping timeout",
      "ping timeout of the silent peer",
      HEARTBEAT_BOUND_MS,
    );
    await ws.waitEnded(HEARTBEAT_BOUND_MS);
    expect(io.engine.clientsCount).toBe(1);
    await expectHealthyUnaffected();
    ws.destroy();
  });

  test("a websocket peer that stops reading is disconnected at the buffer limit as 'slow client'; a healthy peer gets every message", async () => {
    const { ws } = await RawWs.open(base, PATH);
    const sid = sidOf(await ws.connectSocketIo());
    ws.pause();
    const before = healthyReceived;
    let sent = 0;
    for (let burst = 0; burst < 2000 && !reasons.has(sid); burst++) {
      for (let k = 0; k < 8; k++, sent++) io.to("feed").emit("big", CHUNK);
      await Bun.sleep(1);
    }
    await waitFor(() => reasons.has(sid), "the stalled peer to be dropped", 5000);
    expect(reasons.get(sid)).toBe("slow client");
    await waitFor(
      () => healthyReceived - before === sent,
      `healthy peer to receive all ${sent} messages`,
      10_000,
    );
    ws.resume();
    await ws.waitEnded(5000);
    expect(ws.closeFrame).toEqual({ code: 4008, reason: "slow client" });
    await expectHealthyUnaffected();
    ws.destroy();
  }, 30_000);

  test("a polling client that vanishes in the middle of a long poll frees its session", async () => {
    const open = await (await fetchBounded(`${base}/socket.io/?EIO=4&transport=polling`)).text();
    const eioSid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
    const q = `${base}/socket.io/?EIO=4&transport=polling&sid=${eioSid}`;
    await fetchBounded(q, { method: "POST", body: "40" });
    const connectAnswer = await (await fetchBounded(q)).text();
    const sid = sidOf(connectAnswer);
    const abort = new AbortController();
    const poll = fetch(q, { signal: abort.signal }).catch(() => null);
    await Bun.sleep(50);
    abort.abort();
    await poll;
    await waitFor(() => reasons.has(sid), "the vanished poller's session to close", HEARTBEAT_BOUND_MS);
    expect(["transport error", "transport close", "ping timeout"]).toContain(reasons.get(sid)!);
    const after = await fetchBounded(q);
    expect(await after.json()).toEqual({ code: 1, message: "Session ID unknown" });
    await expectHealthyUnaffected();
  });

  test("a polling client that vanishes in the middle of a POST body frees its session", async () => {
    const open = await (await fetchBounded(`${base}/socket.io/?EIO=4&transport=polling`)).text();
    const eioSid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
    const q = `/socket.io/?EIO=4&transport=polling&sid=${eioSid}`;
    await fetchBounded(`${base}${q}`, { method: "POST", body: "40" });
    const sid = sidOf(await (await fetchBounded(`${base}${q}`)).text());
    const url = new URL(base);
    const socket = connect(Number(url.port), url.hostname);
    await withTimeout(new Promise((r) => socket.once("connect", r)), "tcp connect");
    socket.write(
      `POST ${q} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n42["ec`,
    );
    await Bun.sleep(50);
    socket.destroy();
    await waitFor(() => reasons.has(sid), "the vanished poster's session to close", HEARTBEAT_BOUND_MS);
    expect(io.engine.clients.has(eioSid)).toBe(false);
    await expectHealthyUnaffected();
  });

  /** Opens `count` polling sessions and starts a POST body on each that never finishes. */
  async function slowloris(count: number) {
    const url = new URL(base);
    const sockets = await Promise.all(
      Array.from({ length: count }, async () => {
        const open = await (await fetchBounded(`${base}/socket.io/?EIO=4&transport=polling`)).text();
        const eioSid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
        const socket = connect(Number(url.port), url.hostname);
        const closed = new Promise<void>((resolve) =>
          socket.on("close", () => resolve()).on("error", () => resolve()),
        );
        await withTimeout(new Promise((r) => socket.once("connect", r)), "tcp connect");
        socket.write(
          `POST /socket.io/?EIO=4&transport=polling&sid=${eioSid} HTTP/1.1\r\nHost: ${url.host}\r\n` +
            "Content-Type: text/plain\r\nContent-Length: 100000\r\n\r\n4",
        );
        return { eioSid, socket, closed };
      }),
    );
    // One byte every 100 ms: never idle long enough for an idle timeout, never finished.
    const drip = setInterval(() => {
      for (const s of sockets) if (!s.socket.destroyed) s.socket.write("x");
    }, 100);
    return {
      sockets,
      stop() {
        clearInterval(drip);
        for (const s of sockets) s.socket.destroy();
      },
    };
  }

  test("slowloris POST bodies on the polling path lose their sessions to the heartbeat; others unaffected", async () => {
    const attack = await slowloris(20);
    try {
      await waitFor(
        () => attack.sockets.every((s) => !io.engine.clients.has(s.eioSid)),
        "every slowloris session to be closed by the heartbeat",
        HEARTBEAT_BOUND_MS * 2,
      );
      await expectHealthyUnaffected();
    } finally {
      attack.stop();
    }
  }, 20_000);

  // DEFECT (reported): the engine keeps reading a POST body after its session closed, and Bun has
  // no total request deadline, so a slow body holds its connection for as long as the attacker drips.
  test("slowloris POST bodies are cut off once their session has closed", async () => {
    const attack = await slowloris(5);
    try {
      await waitFor(
        () => attack.sockets.every((s) => !io.engine.clients.has(s.eioSid)),
        "every slowloris session to be closed by the heartbeat",
        HEARTBEAT_BOUND_MS * 2,
      );
      await withTimeout(
        Promise.all(attack.sockets.map((s) => s.closed)),
        "the server to cut off the slow bodies of closed sessions",
        HEARTBEAT_BOUND_MS * 2,
      );
    } finally {
      attack.stop();
    }
  }, 20_000);
  test("a half-open TCP connection that never finishes its upgrade request is closed by the server's idle timeout", async () => {
    await withTimeout(halfSent, "the server to close a half-sent upgrade request", 15_000);
    expect(io.engine.clientsCount).toBe(1);
    await expectHealthyUnaffected();
  }, 20_000);
});
