/**
 * A connect leaves little garbage in the server's heap. Connects come in bursts (a deploy, a
 * network blip: thousands of clients within seconds), and what each leaves behind is heap the
 * process holds until the runtime collects it; worse, cells of the few long-lived objects
 * allocated among it (the application's listeners and their scope) stay spread over mostly empty
 * heap blocks after the collection, which is resident memory of every idle connection. A closure
 * costs a scope object at every call of the function that holds it, even when it is never created,
 * so the connect path keeps closures out of the functions every connect runs (BENCHMARKS.md,
 * 2026-12-05). Counted in a server process of its own, the client being this process.
 */
import { afterAll, expect, test } from "bun:test";
import { resolve } from "node:path";
import { WAIT_MS, withTimeout } from "./support.ts";

const FIXTURE = resolve(import.meta.dir, "fixtures", "connect-garbage-server.ts");
/** Closure scopes and functions a websocket connect may leave in the server's heap (2 and 0 now, 31 and 10 before). */
const MAX_SCOPES_PER_CONNECT = 3;
const MAX_FUNCTIONS_PER_CONNECT = 1;
const WARM_UP = 50;
const MEASURED = 100;

const server = Bun.spawn([process.execPath, FIXTURE], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
const reader = server.stdout.getReader();
let buffered = "";
const sockets: WebSocket[] = [];

afterAll(() => {
  for (const ws of sockets) ws.close();
  server.kill();
});

async function line(): Promise<Record<string, number>> {
  for (;;) {
    const at = buffered.indexOf("\n");
    if (at >= 0) {
      const text = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      return JSON.parse(text) as Record<string, number>;
    }
    const { value, done } = await reader.read();
    if (done) throw new Error("the server exited");
    buffered += new TextDecoder().decode(value);
  }
}

/** Counts of the server's heap, after a full collection when `gc`. */
async function counts(gc: boolean): Promise<Record<string, number>> {
  server.stdin.write(gc ? "gc\n" : "peek\n");
  server.stdin.flush();
  return line();
}

/** One Socket.IO connection to the main namespace, connected once the server answered CONNECT. */
function connect(port: number): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
  sockets.push(ws);
  return withTimeout(
    new Promise<void>((done, fail) => {
      ws.onmessage = (e) => {
        const data = String(e.data);
        if (data.startsWith("0{")) ws.send("40");
        else if (data.startsWith("40{")) done();
      };
      ws.onclose = () => fail(new Error("closed before CONNECT was answered"));
    }),
    "CONNECT answer",
    WAIT_MS,
  );
}

test("a websocket connect leaves few closure scopes and functions in the server's heap", async () => {
  const { port } = await line();
  for (let i = 0; i < WARM_UP; i++) await connect(port!);
  const before = await counts(true);
  for (let i = 0; i < MEASURED; i++) await connect(port!);
  const after = await counts(false);
  // A collection during the connects would lower the counts, never raise them.
  expect((after.scopes! - before.scopes!) / MEASURED).toBeLessThanOrEqual(MAX_SCOPES_PER_CONNECT);
  expect((after.functions! - before.functions!) / MEASURED).toBeLessThanOrEqual(MAX_FUNCTIONS_PER_CONNECT);
});
