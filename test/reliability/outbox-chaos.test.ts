/**
 * Chaos for the message path: real `bun src/main.ts` processes whose WhatsApp channel talks to a
 * fake Graph API that answers 500, 429 with Retry-After, slowly, or resets the connection at random.
 * 200 messages go in over REST with idempotency keys (some POSTs repeated concurrently, every POST
 * retried with its key after a network error) while the server is killed with SIGKILL twice and
 * restarted. At the end every accepted message reached the provider exactly once, except messages
 * whose provider call was in flight at a kill (counted and reported, at most one per kill and
 * concurrent send); none is left pending; a stock socket.io-client saw each message once and its
 * statuses only forward. Then two nodes share the outbox on PostgreSQL: nothing is sent twice.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { io, type Socket } from "socket.io-client";
import type { Message, MessageStatus, MessageStatusEvent } from "../../src/shared/events.ts";
import { type Backend, type BackendInstance, backends } from "../db/backends.ts";
import { type FakeGraph, startFakeGraph } from "../support/fake-graph.ts";
import { type MainProcess, startMain } from "./support/process.ts";
import { waitFor } from "./support/wait.ts";

const MESSAGES = 200;
const CLIENTS = 8;
const OUTBOX_CONCURRENCY = 8;
const JWT_SECRET = "outbox-chaos-secret-0123456789abcdef-xyz";
const RANK: Record<MessageStatus, number> = { pending: 0, sent: 1, delivered: 2, read: 3, failed: 4 };
const SUITE_MS = 170_000;

/** A small seeded generator, so a failing run can be replayed (the seed is printed). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The fake provider misbehaves on about half of all calls. */
function chaoticGraph(seed: number): FakeGraph {
  const random = mulberry32(seed);
  return startFakeGraph(() => {
    const r = random();
    if (r < 0.15) return { kind: "error", status: 500 };
    if (r < 0.22) return { kind: "error", status: 429, retryAfterS: 1 };
    if (r < 0.3) return { kind: "reset" };
    if (r < 0.5) return { kind: "slow", ms: 100 + Math.floor(random() * 600), next: { kind: "accept" } };
    return { kind: "accept" };
  });
}

function nodeEnv(
  instance: BackendInstance,
  graph: FakeGraph,
  dir: string,
  nodeId: string,
): Record<string, string> {
  return {
    NODE_ENV: "development",
    HOST: "127.0.0.1",
    PORT: "0",
    ...instance.env,
    JWT_SECRET,
    DEMO_PASSWORD: "outbox-chaos-password",
    WEB_DIST_DIR: join(dir, "web"),
    LOG_LEVEL: "error",
    CHANNEL: "whatsapp",
    // These conversations never had an inbound message: the 24 h window (test/chat/service-window.test.ts) is not under test here.
    SERVICE_WINDOW_ENFORCED: "false",
    WHATSAPP_API_BASE_URL: graph.url,
    WHATSAPP_ACCESS_TOKEN: "fake-token",
    WHATSAPP_SEND_TIMEOUT_MS: "3000",
    NODE_ID: nodeId,
    OUTBOX_LEASE_MS: "6000",
    OUTBOX_POLL_MS: "100",
    OUTBOX_RETRY_BASE_MS: "50",
    OUTBOX_RETRY_MAX_MS: "400",
    OUTBOX_CONCURRENCY: String(OUTBOX_CONCURRENCY),
    SHUTDOWN_TIMEOUT_MS: "3000",
  };
}

/** POSTs one message with its key until the server answers it (a killed server is retried). */
async function postUntilAnswered(
  url: () => string,
  token: string,
  conversationId: string,
  text: string,
  key: string,
) {
  for (;;) {
    try {
      const res = await fetch(`${url()}/api/v1/conversations/${conversationId}/messages`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "idempotency-key": key,
        },
        body: JSON.stringify({ content: { text } }),
        signal: AbortSignal.timeout(5000),
      });
      if (res.status === 200 || res.status === 201)
        return { status: res.status, message: ((await res.json()) as { message: Message }).message };
      if (res.status < 500) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith("POST answered")) throw err;
    }
    await Bun.sleep(100);
  }
}

/** The stock client watching the conversation: live events, plus REST catch-up after each reconnect. */
class Watcher {
  readonly liveNew = new Map<string, number>();
  readonly seen = new Set<string>();
  readonly statuses = new Map<string, MessageStatus[]>();
  readonly socket: Socket;
  #lastSeq = 0;

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly conversationId: string,
  ) {
    this.socket = io(url, {
      auth: { token },
      transports: ["websocket"],
      forceNew: true,
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 500,
      timeout: 5000,
    });
    this.socket.on("message:new", (m: Message) => {
      this.liveNew.set(m.id, (this.liveNew.get(m.id) ?? 0) + 1);
      this.#saw(m);
    });
    this.socket.on("message:status", (s: MessageStatusEvent) => {
      const list = this.statuses.get(s.message_id) ?? [];
      list.push(s.status);
      this.statuses.set(s.message_id, list);
    });
    this.socket.on("connect", () => {
      void this.socket
        .timeout(5000)
        .emitWithAck("join_conversation", { conversation_id: conversationId })
        .then(() => this.catchUp())
        .catch(() => {});
    });
  }

  #saw(m: Message): void {
    this.seen.add(m.id);
    if (m.seq === this.#lastSeq + 1) this.#lastSeq = m.seq;
  }

  /** Reads everything after the last contiguous seq (what a reconnecting client does). */
  async catchUp(): Promise<void> {
    for (;;) {
      const res = await fetch(
        `${this.url}/api/v1/conversations/${this.conversationId}/messages?after=${this.#lastSeq}&limit=100`,
        { headers: { authorization: `Bearer ${this.token}` }, signal: AbortSignal.timeout(5000) },
      );
      if (!res.ok) return;
      const page = (await res.json()) as { data: Message[] };
      for (const m of page.data) this.#saw(m);
      if (page.data.length < 100) return;
    }
  }

  close(): void {
    this.socket.close();
  }
}

/** Sends `MESSAGES` messages from `CLIENTS` concurrent senders; every 10th is POSTed twice at once. */
async function sendAll(
  urls: Array<() => string>,
  token: string,
  conversationId: string,
  onAnswered: (n: number) => void,
) {
  const ids = new Map<string, string>();
  let next = 0;
  let answered = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      for (let i = next++; i < MESSAGES; i = next++) {
        const text = `chaos-${i}`;
        const key = `chaos-key-${i}`;
        const url = urls[(i + client) % urls.length]!;
        const copies = i % 10 === 0 ? 2 : 1;
        const answers = await Promise.all(
          Array.from({ length: copies }, (_, c) =>
            postUntilAnswered(urls[(i + c) % urls.length] ?? url, token, conversationId, text, key),
          ),
        );
        const distinct = new Set(answers.map((a) => a.message.id));
        if (distinct.size !== 1)
          throw new Error(`key ${key} answered with ${distinct.size} different messages`);
        ids.set(text, answers[0]!.message.id);
        onAnswered(++answered);
      }
    }),
  );
  return ids;
}

/** Waits until no accepted message is pending (read through the API of a live node). */
async function waitNonePending(url: string, token: string, conversationId: string, ids: Map<string, string>) {
  const wanted = new Set(ids.values());
  let last: Message[] = [];
  await waitFor(
    async () => {
      const all: Message[] = [];
      for (let after = 0; ; ) {
        const res = await fetch(
          `${url}/api/v1/conversations/${conversationId}/messages?after=${after}&limit=100`,
          {
            headers: { authorization: `Bearer ${token}` },
          },
        );
        const page = (await res.json()) as { data: Message[]; next_cursor: string | null };
        all.push(...page.data);
        if (!page.next_cursor) break;
        after = Number(page.next_cursor);
      }
      last = all.filter((m) => wanted.has(m.id));
      return last.length === wanted.size && last.every((m) => m.status !== "pending");
    },
    "every accepted message to leave pending",
    60_000,
    250,
  );
  return last;
}

/**
 * Provider calls per accepted message. A message may reach the provider twice only across a kill:
 * the killed process made the first call (accepted, but killed before its id was committed) and
 * the restarted one the second. Calls that both fall in one process's life would be a retry bug.
 * Returns, per kill, how many messages it caused to be sent twice.
 */
/** A kill: when the signal was sent, and when the process was seen gone. */
interface Kill {
  signalled: number;
  exited: number;
}
/** Requests a killed process wrote just before dying may be read by the fake a moment later. */
const KILL_READ_GRACE_MS = 250;

function auditProvider(graph: FakeGraph, ids: Map<string, string>, kills: Kill[]) {
  const byText = new Map<string, typeof graph.accepted>();
  // In the order the calls reached the provider, not the order it answered them: a slow answer to a
  // killed process's call can be written after the restarted process's call was answered.
  const byArrival = [...graph.accepted].sort((a, b) => a.receivedAt - b.receivedAt);
  for (const a of byArrival) byText.set(a.text ?? "", [...(byText.get(a.text ?? "") ?? []), a]);
  const missing = [...ids.keys()].filter((t) => !byText.has(t));
  const strangers = [...byText.keys()].filter((t) => !ids.has(t));
  const perKill = kills.map(() => 0);
  const unexplained: string[] = [];
  for (const [text, calls] of byText) {
    for (let i = 1; i < calls.length; i++) {
      const before = calls[i - 1]!.receivedAt;
      const after = calls[i]!.receivedAt;
      // Across a kill: the first call before the killed process was gone (plus the time the fake
      // may still take to read what it wrote), the second after the signal.
      const kill = kills.findIndex((k) => before < k.exited + KILL_READ_GRACE_MS && k.signalled <= after);
      if (kill < 0) unexplained.push(text);
      else perKill[kill]!++;
    }
  }
  return { missing, strangers, unexplained, perKill, duplicates: perKill.reduce((a, b) => a + b, 0) };
}

const instances: BackendInstance[] = [];
const graphs: FakeGraph[] = [];
const processes: MainProcess[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const p of processes) if (p.proc.exitCode === null) p.kill("SIGKILL");
  for (const g of graphs) g.close();
  for (const i of instances) await i.dispose();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function setup(backend: Backend, seed: number) {
  const instance = await backend.create();
  instances.push(instance);
  const graph = chaoticGraph(seed);
  graphs.push(graph);
  const dir = mkdtempSync(join(tmpdir(), "switchboard-chaos-"));
  dirs.push(dir);
  return { instance, graph, dir };
}

for (const backend of await backends()) {
  describe(`outbox chaos on ${backend.name}`, () => {
    test(
      "SIGKILL twice during 200 sends: each accepted message reaches the provider once (bar in-flight kills), none pending, each seen once, statuses forward",
      async () => {
        const seed = Date.now() % 100_000;
        const { instance, graph, dir } = await setup(backend, seed);
        const env = nodeEnv(instance, graph, dir, "chaos-node");
        let main = await startMain({ ...env, SEED_DEMO: "true" });
        processes.push(main);
        const token = main.token!;
        const conversationId = main.conversationId!;
        expect(token).toBeTruthy();
        const port = new URL(main.url).port;
        const url = main.url;
        const watcher = new Watcher(url, token, conversationId);
        const kills: Kill[] = [];
        let restarting: Promise<void> = Promise.resolve();
        const killAndRestart = () => {
          restarting = restarting.then(async () => {
            const signalled = Date.now();
            main.kill("SIGKILL");
            await main.exited(10_000);
            kills.push({ signalled, exited: Date.now() });
            // The next life's first calls must not fall in the window where the fake may still read
            // the dead process's (a restart here takes a few hundred ms): the audit tells lives apart by time.
            await Bun.sleep(KILL_READ_GRACE_MS);
            main = await startMain({ ...env, PORT: port, SEED_DEMO: "false" });
            processes.push(main);
          });
        };
        try {
          const ids = await sendAll([() => url], token, conversationId, (n) => {
            if (n === 60 || n === 130) killAndRestart();
          });
          await restarting;
          expect(kills).toHaveLength(2);
          expect(new Set(ids.values()).size).toBe(MESSAGES);
          const final = await waitNonePending(url, token, conversationId, ids);
          expect(final.every((m) => m.status === "sent")).toBe(true);

          const audit = auditProvider(graph, ids, kills);
          console.log(
            `[outbox chaos ${backend.name}] seed ${seed}: ${graph.requests.length} provider calls for ${MESSAGES} messages; ` +
              `sent twice because the kill came between the provider's answer and the commit: ${audit.perKill.join(" + ")}`,
          );
          expect(audit.missing).toEqual([]);
          expect(audit.strangers).toEqual([]);
          expect(audit.unexplained).toEqual([]);
          for (const n of audit.perKill) expect(n).toBeLessThanOrEqual(OUTBOX_CONCURRENCY);

          await watcher.catchUp();
          for (const id of ids.values()) expect(watcher.seen.has(id)).toBe(true);
          for (const [id, n] of watcher.liveNew)
            if (n > 1) throw new Error(`message ${id} arrived live ${n} times`);
          for (const [id, list] of watcher.statuses)
            for (let i = 1; i < list.length; i++)
              if (RANK[list[i]!] <= RANK[list[i - 1]!])
                throw new Error(`message ${id} went ${list.join(" → ")}`);
        } finally {
          watcher.close();
          main.kill("SIGKILL");
        }
      },
      SUITE_MS,
    );
  });
}

const postgres = (await backends()).find((b) => b.name === "postgres");
if (postgres) {
  describe("outbox chaos with two nodes on PostgreSQL", () => {
    test(
      "two nodes sharing the outbox send each of 200 messages exactly once",
      async () => {
        const seed = Date.now() % 100_000;
        const { instance, graph, dir } = await setup(postgres, seed);
        const first = await startMain({ ...nodeEnv(instance, graph, dir, "node-one"), SEED_DEMO: "true" });
        processes.push(first);
        const second = await startMain({ ...nodeEnv(instance, graph, dir, "node-two"), SEED_DEMO: "false" });
        processes.push(second);
        const token = first.token!;
        const conversationId = first.conversationId!;
        try {
          const ids = await sendAll([() => first.url, () => second.url], token, conversationId, () => {});
          expect(new Set(ids.values()).size).toBe(MESSAGES);
          const final = await waitNonePending(first.url, token, conversationId, ids);
          expect(final.every((m) => m.status === "sent")).toBe(true);
          const audit = auditProvider(graph, ids, []);
          console.log(
            `[outbox chaos two nodes] seed ${seed}: ${graph.requests.length} provider calls for ${MESSAGES} messages`,
          );
          expect(audit.missing).toEqual([]);
          expect(audit.strangers).toEqual([]);
          expect(audit.unexplained).toEqual([]);
          expect(audit.duplicates).toBe(0);
          // Both nodes did part of the work.
          const served = await Promise.all(
            [first, second].map(async (p) => {
              const text = await (await fetch(`${p.url}/metrics`)).text();
              return Number(
                /switchboard_outbox_attempts_total\{kind="send_message",outcome="succeeded"\} (\d+)/.exec(
                  text,
                )?.[1] ?? 0,
              );
            }),
          );
          expect(served[0]! + served[1]!).toBe(MESSAGES);
        } finally {
          first.kill("SIGKILL");
          second.kill("SIGKILL");
        }
      },
      SUITE_MS,
    );
  });
}
