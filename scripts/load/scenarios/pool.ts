/** Opening many clients with a bounded number of handshakes in flight. */
import type { LoadClient } from "../clients/client.ts";

export interface OpenResult {
  clients: LoadClient[];
  failures: string[];
  /** Wall time from the first handshake to the last answer, in ms. */
  elapsedMs: number;
}

/**
 * Connect `count` clients made by `make`, at most `window` handshakes at a time. `onConnected`
 * runs after each success (the connect scenario samples RSS there).
 */
export async function openClients(
  count: number,
  window: number,
  make: (index: number) => LoadClient,
  onConnected?: (connected: number) => void,
): Promise<OpenResult> {
  const clients: LoadClient[] = [];
  const failures: string[] = [];
  let next = 0;
  let connected = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < count) {
      const client = make(next++);
      try {
        await client.connect();
        clients.push(client);
        connected++;
        onConnected?.(connected);
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
  return { clients, failures, elapsedMs: performance.now() - started };
}

/** Close clients and give the server a moment to see the closes. */
export async function closeClients(clients: readonly LoadClient[], settleMs = 200): Promise<void> {
  for (const client of clients) client.close();
  await Bun.sleep(settleMs);
}

/** Resolve when `done()` holds, polling every `everyMs`; false when `timeoutMs` passed first. */
export async function waitUntil(done: () => boolean, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await Bun.sleep(everyMs);
  }
  return true;
}
