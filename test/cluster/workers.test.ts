/**
 * `--workers N`: the supervisor runs N node processes on ONE port (SO_REUSEPORT). The kernel
 * spreads connections over them, so every request of a polling client (socket.io-client closes
 * the connection after each one) may land on any worker: forwarding makes that work. A worker
 * killed with SIGKILL is restarted.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { type Socket as ClientSocket, io as connect } from "socket.io-client";
import {
  parseWorkersFlag,
  portAnswers,
  runWorkers,
  type Supervisor,
  withoutWorkersFlag,
  workersProblem,
} from "../../src/cluster/workers.ts";
import { hasRedis, TEST_REDIS_URL } from "../support/services.ts";
import { FIXTURES, freePort, uniqueKey, waitFor, within } from "./support.ts";

setDefaultTimeout(30_000);
const redisUp = await hasRedis();

describe("the --workers flag", () => {
  test("is read in both spellings and removed from the workers' command line", () => {
    expect(parseWorkersFlag(["src/main.ts", "--workers", "4"])).toBe(4);
    expect(parseWorkersFlag(["--workers=2"])).toBe(2);
    expect(parseWorkersFlag(["src/main.ts"])).toBeNull();
    expect(() => parseWorkersFlag(["--workers", "zero"])).toThrow();
    expect(withoutWorkersFlag(["a", "--workers", "4", "b", "--workers=3"])).toEqual(["a", "b"]);
  });

  test("needs a cluster store (Redis or PostgreSQL), a fixed port and PostgreSQL", () => {
    const db = { DATABASE_URL: "postgres://x" };
    expect(workersProblem({ ...db, PORT: "8000" })).toContain("REDIS_URL");
    expect(workersProblem({ ...db, CLUSTER: "postgres", PORT: "8000" })).toBeNull();
    expect(workersProblem({ ...db, REDIS_URL: "redis://x", PORT: "0" })).toContain("PORT");
    expect(workersProblem({ REDIS_URL: "redis://x", PORT: "8000" })).toContain("DATABASE_URL");
    expect(workersProblem({ ...db, REDIS_URL: "redis://x", PORT: "8000" })).toBeNull();
  });
});

describe.skipIf(!redisUp)("two workers on one port", () => {
  let supervisor: Supervisor;
  let url: string;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    supervisor = runWorkers({
      count: 2,
      command: [process.execPath, join(FIXTURES, "switchboard-node.ts")],
      env: {
        ...process.env,
        LOG_LEVEL: "error",
        PORT: String(port),
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: uniqueKey("workers"),
      },
      restartDelayMs: 100,
      firstWorkerReady: () => portAnswers("127.0.0.1", port),
    });
    // The second worker waits for the first (which alone would migrate and seed a database).
    expect(supervisor.workers[1]).toBeUndefined();
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await supervisor?.stop();
  });

  async function nodesBehindThePort(): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const socket = connect(url, {
        transports: ["websocket"],
        forceNew: true,
        reconnection: false,
        timeout: 2000,
      });
      try {
        await within(
          "connect",
          new Promise<void>((resolve, reject) =>
            socket.once("connect", resolve).once("connect_error", reject),
          ),
          3000,
        );
        seen.add(((await socket.timeout(2000).emitWithAck("echo", null)) as { node: string }).node);
      } catch {
        // a worker still starting: try again
      } finally {
        socket.close();
      }
    }
    return seen;
  }

  test("both workers serve the shared port", async () => {
    await waitFor("two workers answering", async () => (await nodesBehindThePort()).size === 2, 20_000);
  });

  test("polling clients make round trips whichever worker each request reaches", async () => {
    const clients = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const socket = connect(url, {
          transports: ["polling"],
          forceNew: true,
          reconnection: false,
          timeout: 5000,
        });
        sockets.push(socket);
        await within(
          "connect",
          new Promise<void>((resolve, reject) =>
            socket.once("connect", resolve).once("connect_error", reject),
          ),
        );
        return socket;
      }),
    );
    await Promise.all(
      clients.map(async (socket, i) => {
        for (let n = 0; n < 15; n++) {
          const answer = (await socket.timeout(5000).emitWithAck("echo", `${i}:${n}`)) as { payload: string };
          expect(answer.payload).toBe(`${i}:${n}`);
        }
      }),
    );
    for (const socket of clients) expect(socket.connected).toBe(true);
  });

  test("a worker killed with SIGKILL is restarted", async () => {
    const victim = supervisor.workers[0];
    expect(victim?.pid).toBeGreaterThan(0);
    victim?.kill("SIGKILL");
    await waitFor(
      "a new worker 0",
      () => supervisor.workers[0] !== undefined && supervisor.workers[0] !== victim,
      5000,
    );
    await waitFor("two workers answering again", async () => (await nodesBehindThePort()).size === 2, 20_000);
  });
});
