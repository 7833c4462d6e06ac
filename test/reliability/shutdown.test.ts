/**
 * Graceful shutdown of a real `bun src/main.ts` (embedded PGlite in a temporary directory): on
 * SIGTERM new sessions are refused, an in-flight HTTP request finishes, a pending long poll is
 * released, connected clients are disconnected in a way that makes the stock client reconnect
 * (elsewhere), and the process exits 0 within SHUTDOWN_TIMEOUT_MS.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MainProcess, START_BOUND_MS, startMain } from "./support/process.ts";
import { ask, connectStock, type StockSocket } from "./support/stock.ts";
import { fetchBounded, withTimeout } from "./support/wait.ts";

const SHUTDOWN_TIMEOUT_MS = 5000;

describe("graceful shutdown of bun src/main.ts", () => {
  let dataDir: string;
  let main: MainProcess;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "switchboard-shutdown-"));
    main = await startMain({
      NODE_ENV: "development",
      PORT: "0",
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      DEMO_PASSWORD: "shutdown-test-password",
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      LOG_LEVEL: "warn",
    });
  }, START_BOUND_MS + 5000);

  afterAll(() => {
    if (main && main.proc.exitCode === null) main.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("SIGTERM: new sessions refused, in-flight HTTP finished, polls released, clients told to reconnect, exit 0", async () => {
    expect(main.token).not.toBeNull();
    expect(main.conversationId).not.toBeNull();
    const token = main.token!;
    const conversationId = main.conversationId!;

    // A websocket client in a conversation.
    const socket: StockSocket = await connectStock(main.url, { auth: { token } });
    expect(await ask(socket, "join_conversation", { conversation_id: conversationId })).toMatchObject({
      ok: true,
    });
    const disconnected = withTimeout(
      new Promise<{ reason: string; willReconnect: boolean }>((resolve) =>
        socket.once("disconnect", (reason) => resolve({ reason, willReconnect: socket.active })),
      ),
      "the websocket client's disconnect",
      SHUTDOWN_TIMEOUT_MS + 2000,
    );

    // A polling client with a long poll waiting for data.
    const base = `${main.url}/socket.io/?EIO=4&transport=polling`;
    const sid = (JSON.parse((await (await fetchBounded(base)).text()).slice(1)) as { sid: string }).sid;
    await fetchBounded(`${base}&sid=${sid}`, { method: "POST", body: `40${JSON.stringify({ token })}` });
    let greeting = "";
    while (!greeting.includes('42["connected"'))
      greeting += await (await fetchBounded(`${base}&sid=${sid}`)).text();
    expect(greeting).toStartWith("40{");
    const pendingPoll = fetchBounded(`${base}&sid=${sid}`, {}, SHUTDOWN_TIMEOUT_MS + 2000).then(
      async (r) => ({
        status: r.status,
        body: await r.text(),
      }),
    );
    await Bun.sleep(100);

    // An HTTP request whose body is still arriving when the signal comes.
    let finishBody: () => void = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"content":{"text":"sent while'));
        finishBody = () => {
          // The stream is already closed when the request was cut off: the assertion below says so.
          try {
            controller.enqueue(new TextEncoder().encode(' shutting down"}}'));
            controller.close();
          } catch {}
        };
      },
    });
    const inFlight = fetchBounded(
      `${main.url}/api/v1/conversations/${conversationId}/messages`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body,
        // @ts-expect-error Bun/undici need duplex for a streamed request body.
        duplex: "half",
      },
      SHUTDOWN_TIMEOUT_MS + 2000,
    ).then(
      (r) => r.status,
      (e: Error) => `failed: ${e.message}`,
    );
    await Bun.sleep(100);

    const signalledAt = performance.now();
    main.kill("SIGTERM");
    await Bun.sleep(50);

    // New sessions are refused from the moment the signal is handled.
    const late = await fetchBounded(base, {}, 2000).then(
      (r) => `HTTP ${r.status}`,
      () => "refused",
    );
    finishBody();

    const poll = await pendingPoll;
    expect(poll.status).toBe(200);
    // The engine's close packet (or a noop) ends the long poll at once instead of leaving it hanging.
    expect(["1", "6"]).toContain(poll.body.split("\x1e").pop()!);

    const gone = await disconnected;
    // A reason the stock client reconnects after ("io server disconnect" would stop it for good).
    expect(gone).toEqual({ reason: "transport close", willReconnect: true });
    socket.close();

    const code = await main.exited(SHUTDOWN_TIMEOUT_MS + 2000);
    const tookMs = performance.now() - signalledAt;
    expect({ code, late }).toEqual({ code: 0, late: "refused" });
    expect(tookMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 1000);
    // DEFECT (reported): src/app.ts stop() calls server.stop(true) without awaiting in-flight
    // requests, so a request whose body is still arriving is reset (ECONNRESET) instead of finished.
    expect(await inFlight).toBe(201);
  }, 30_000);
});
