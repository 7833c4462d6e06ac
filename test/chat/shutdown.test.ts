/**
 * Graceful stop (what SIGTERM runs): a request already in flight is finished, new connections are
 * refused, live sockets are closed, then the database.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { disconnected, type Harness, startHarness, WAIT_MS } from "./harness.ts";

describe("graceful stop", () => {
  let h: Harness;
  beforeAll(async () => {
    const [backend] = await backends();
    h = await startHarness(backend!);
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => h?.close(), SETUP_TIMEOUT_MS);

  test("finishes an in-flight request, refuses new ones, and disconnects sockets", async () => {
    const token = await h.token(h.fx.admin);
    const socket = await h.connect(token);
    const gone = disconnected(socket);
    // A POST whose body is still arriving when the stop begins.
    let finish!: () => void;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"content":{"text":'));
        finish = () => {
          controller.enqueue(new TextEncoder().encode('"last words"}}'));
          controller.close();
        };
      },
    });
    const inFlight = fetch(`${h.url}/api/v1/conversations/${h.fx.convAssigned.id}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body,
      // @ts-expect-error Bun needs duplex for a streamed request body.
      duplex: "half",
      signal: AbortSignal.timeout(WAIT_MS * 2),
    }).then((r) => r.status);
    await Bun.sleep(100);
    const stopped = h.server.stop();
    await Bun.sleep(50);
    const late = await fetch(`${h.url}/health`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => `HTTP ${r.status}`,
      () => "refused",
    );
    finish();
    expect(await inFlight).toBe(201);
    expect(late).toBe("refused");
    await gone;
    await stopped;
  });
});
