/**
 * Nothing lost in a cluster: two `bun src/main.ts` nodes on one fresh PostgreSQL database and the
 * machine's Redis, clients built on the client module (src/client SocketClient: catch-up, seq gap
 * detection, de-duplication, forward-only statuses) homed on each node and watching one
 * conversation, while messages are POSTed steadily and the sandbox channel moves their statuses.
 *
 * 1. SIGKILL of a node: its clients reconnect to the other node and catch up.
 * 2. Rolling restart: SIGTERM node A (clients told to reconnect), restart it on the same port,
 *    then the same for node B, all under traffic.
 *
 * After each, every client's messages equal the database (same ids, seqs contiguous, each stored
 * status), with no duplicate delivery and no status seen going backwards.
 *
 * The client module connects to one URL; in production a balancer moves a client to a live node.
 * Here each client goes through a tiny failover TCP proxy (support/failover-proxy.ts) whose first
 * upstream is the client's home node and whose second is the other node.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { isStatusAdvance, type MessageSource, SocketClient } from "../../src/client/index.ts";
import type { Message, MessageStatus, Uuid } from "../../src/shared/events.ts";
import { createFreshDatabase, type FreshDatabase } from "../reliability/support/postgres.ts";
import { type MainProcess, startMain } from "../reliability/support/process.ts";
import { fetchBounded, waitFor } from "../reliability/support/wait.ts";
import { hasPostgres, hasRedis, TEST_REDIS_URL } from "../support/services.ts";
import { type FailoverProxy, startFailoverProxy } from "./support/failover-proxy.ts";
import { freePort, uniqueKey } from "./support.ts";

const postgresUp = await hasPostgres();
const redisUp = await hasRedis();

/** One node start on an existing database (migrations already applied, no PGlite): a few seconds. */
const START_MS = 20_000;
/** Graceful shutdown budget given to the nodes, and the bound of waiting for their exit. */
const SHUTDOWN_TIMEOUT_MS = 3000;
const EXIT_MS = SHUTDOWN_TIMEOUT_MS + 3000;
/** How long the clients get to converge on the database after the traffic stops. */
const CONVERGE_MS = 15_000;
/** Pause between two POSTs: steady traffic, spread over the faults. */
const SEND_EVERY_MS = 25;
const PASSWORD = "cluster-nothing-lost-password";
const RANK: Record<MessageStatus, number> = { pending: 0, sent: 1, delivered: 2, read: 3, failed: 4 };

/** What one client saw, built only from the client module's events. */
class View {
  readonly deliveries = new Map<Uuid, number>();
  readonly messages = new Map<Uuid, { seq: number; status: MessageStatus }>();
  readonly backwards: string[] = [];
  readonly sources = new Map<MessageSource, number>();
  readonly states: string[] = [];
  /**
   * Statuses that arrived before their message (the client module passes them on without
   * remembering them: src/client/conversation-ledger.ts acceptStatus). A catch-up racing a live
   * status event then delivers the message with an older snapshot of its status, so the view
   * applies the early status when the message arrives, as an app built on the module must.
   */
  readonly early = new Map<Uuid, MessageStatus>();
  /** How often an early status was needed (the race above happened). */
  earlyApplied = 0;
  /** The conversation's last seq when this client joined: it watches what comes after. */
  baseline = 0;

  /** What happened, in order, with milliseconds since the client was made: printed on a failure. */
  readonly trace: string[] = [];

  constructor(
    readonly name: string,
    readonly client: SocketClient,
  ) {
    const t0 = Date.now();
    const note = (line: string): void => {
      this.trace.push(`${Date.now() - t0} ${line}`);
    };
    client.onNewMessage((m, source) => note(`new seq ${m.seq} ${m.status} (${source})`));
    client.onMessageStatus((e) => note(`status ${e.message_id.slice(0, 8)} ${e.status}`));
    client.onConnectionChange((c) => note(`connection ${c.state} ${c.reason ?? ""}`));
    client.onError((e) => note(`error ${e.message}`));
    client.onNewMessage((m: Message, source) => {
      this.deliveries.set(m.id, (this.deliveries.get(m.id) ?? 0) + 1);
      this.sources.set(source, (this.sources.get(source) ?? 0) + 1);
      let status = m.status;
      const early = this.early.get(m.id);
      this.early.delete(m.id);
      if (early !== undefined && isStatusAdvance(status, early)) {
        status = early;
        this.earlyApplied++;
      }
      this.messages.set(m.id, { seq: m.seq, status });
    });
    client.onMessageStatus((e) => {
      const known = this.messages.get(e.message_id);
      if (!known) {
        const early = this.early.get(e.message_id);
        if (early === undefined || isStatusAdvance(early, e.status)) this.early.set(e.message_id, e.status);
        return;
      }
      if (RANK[e.status] < RANK[known.status] || (known.status === "failed" && e.status !== "failed"))
        this.backwards.push(`${e.message_id}: ${known.status} → ${e.status}`);
      if (isStatusAdvance(known.status, e.status)) known.status = e.status;
    });
    client.onConnectionChange((change) => this.states.push(change.state));
  }
}

interface ClusterNode {
  name: string;
  port: number;
  main: MainProcess | null;
}

describe.skipIf(!postgresUp || !redisUp)("nothing lost in a two-node cluster", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "switchboard-nothing-lost-cluster-"));
  let database: FreshDatabase | null = null;
  let sql: postgres.Sql | null = null;
  const nodes: ClusterNode[] = [];
  const proxies: FailoverProxy[] = [];
  const views: View[] = [];
  let env: Record<string, string> = {};
  let token = "";
  let conversationId = "";
  /** Texts the server took (201), over the whole file. */
  const accepted: string[] = [];
  /** Messages of the conversation before the test's traffic (the seeded demo history). */
  let seeded = 0;

  const start = async (node: ClusterNode): Promise<void> => {
    node.main = await startMain({ ...env, PORT: String(node.port) }, START_MS);
  };
  const stop = async (node: ClusterNode, signal: "SIGKILL" | "SIGTERM"): Promise<number> => {
    const main = node.main;
    node.main = null;
    if (!main || main.proc.exitCode !== null) return main?.proc.exitCode ?? 0;
    main.kill(signal);
    return main.exited(EXIT_MS);
  };
  const live = (): ClusterNode[] => nodes.filter((n) => n.main !== null);

  beforeAll(async () => {
    database = await createFreshDatabase("sb");
    sql = postgres(database.url, { max: 2, onnotice: () => {} });
    env = {
      NODE_ENV: "development",
      HOST: "127.0.0.1",
      DATABASE_URL: database.url,
      DATA_DIR: dataDir,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: uniqueKey("nothing-lost"),
      CLUSTER_SECRET: "nothing-lost-cluster-secret-0123456789",
      JWT_SECRET: "nothing-lost-jwt-secret-shared-by-every-node-0123",
      DEMO_PASSWORD: PASSWORD,
      SANDBOX_STEP_MS: "20",
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      // Four watchers share the demo admin: keep them all under the per-user cap.
      MAX_CONNECTIONS_PER_USER: "50",
      LOG_LEVEL: "error",
    };
    for (const name of ["A", "B"]) nodes.push({ name, port: await freePort(), main: null });
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    // One after the other: the first migrates the empty database and seeds the demo.
    await start(a);
    await start(b);
    token = a.main?.token ?? "";
    conversationId = a.main?.conversationId ?? "";
    expect(token).not.toBe("");
    expect(conversationId).not.toBe("");

    seeded = (await stored()).size;
    // Two watchers homed on each node, one per transport; each falls back to the other node.
    const homes: [string, ClusterNode, ClusterNode, ("polling" | "websocket")[]][] = [
      ["A/websocket", a, b, ["websocket"]],
      ["A/polling", a, b, ["polling"]],
      ["B/websocket", b, a, ["websocket"]],
      ["B/upgrade", b, a, ["polling", "websocket"]],
    ];
    for (const [name, home, other, transports] of homes) {
      const proxy = startFailoverProxy([home.port, other.port]);
      proxies.push(proxy);
      const client = new SocketClient({
        url: proxy.url,
        auth: token,
        transports,
        reconnectionDelayMs: 100,
        reconnectionDelayMaxMs: 500,
        statusResyncLimit: 100, // the REST API's page maximum
      });
      const view = new View(name, client);
      views.push(view);
      await client.connect();
      view.baseline = (await client.joinConversation(conversationId)).last_seq;
    }
  }, 3 * START_MS);

  afterAll(async () => {
    for (const view of views) view.client.close();
    for (const proxy of proxies) proxy.stop();
    for (const node of nodes) node.main?.kill("SIGKILL");
    await Promise.all(nodes.map((n) => n.main?.exited(EXIT_MS).catch(() => -1)));
    await sql?.end({ timeout: 2 });
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 20_000);

  /** POSTs one message to the first live node that takes it (a refused or failed attempt stored nothing). */
  const send = async (text: string, prefer: ClusterNode[] = nodes): Promise<void> => {
    await waitFor(
      async () => {
        for (const node of prefer.filter((n) => n.main !== null)) {
          const res = await fetchBounded(
            `http://127.0.0.1:${node.port}/api/v1/conversations/${conversationId}/messages`,
            {
              method: "POST",
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              body: JSON.stringify({ content: { text } }),
            },
          ).catch(() => null);
          if (res?.status === 201) return true;
        }
        return false;
      },
      `POST "${text}" to a live node`,
      10_000,
      50,
    );
    accepted.push(text);
  };

  type Stored = Map<Uuid, { seq: number; status: MessageStatus }>;
  const stored = async (): Promise<Stored> => {
    const rows = await (sql as postgres.Sql)<{ id: Uuid; seq: number; status: MessageStatus }[]>`
      SELECT id, seq, status FROM messages WHERE conversation_id = ${conversationId} ORDER BY seq`;
    return new Map(rows.map((r) => [r.id, { seq: r.seq, status: r.status }]));
  };
  const expected = (db: Stored, view: View): Stored =>
    new Map([...db].filter(([, r]) => r.seq > view.baseline));
  const matches = (db: Stored, view: View): boolean => {
    const want = expected(db, view);
    if (want.size !== view.messages.size) return false;
    for (const [id, row] of want) {
      const seen = view.messages.get(id);
      if (!seen || seen.seq !== row.seq || seen.status !== row.status) return false;
    }
    return true;
  };

  /** Every client ends with exactly the database's messages (after its baseline), each once, forward only. */
  const expectViewsEqualDatabase = async (): Promise<void> => {
    // Sandbox status steps still in flight settle first; then compare until equal or timed out.
    const settled = async () => {
      const db = await stored();
      return [...db.values()].every((r) => r.status === "read") || views.every((v) => matches(db, v));
    };
    await waitFor(settled, "the sandbox statuses to settle", CONVERGE_MS, 100).catch(() => {});
    for (const view of views) {
      try {
        await waitFor(
          async () => matches(await stored(), view),
          `${view.name}'s view to equal the database`,
          CONVERGE_MS,
          100,
        );
      } catch (err) {
        const db = expected(await stored(), view);
        const missing = [...db].filter(([id]) => !view.messages.has(id)).map(([, r]) => r.seq);
        const wrong = [...db]
          .filter(([id, r]) => view.messages.get(id) && view.messages.get(id)?.status !== r.status)
          .map(([id, r]) => `seq ${r.seq}: saw ${view.messages.get(id)?.status}, stored ${r.status}`);
        throw new Error(
          `${(err as Error).message}: ${JSON.stringify({ state: view.client.state, missing, wrong })}\ntrace:\n${view.trace.join("\n")}\nstored:\n${[...(await stored())].map(([id, r]) => `${id.slice(0, 8)} seq ${r.seq} ${r.status}`).join("\n")}`,
        );
      }
    }
    // One snapshot every view equals: a status step landing between two reads must not make a view
    // that is merely a step behind look wrong (each view was compared to its own read above).
    let db = await stored();
    await waitFor(
      async () => {
        db = await stored();
        return views.every((view) => matches(db, view));
      },
      "every view to equal one snapshot of the database",
      CONVERGE_MS,
      100,
    ).catch(() => {});
    // Every POST the cluster took is stored exactly once, with contiguous seqs.
    expect(db.size).toBe(seeded + accepted.length);
    expect([...db.values()].map((r) => r.seq)).toEqual(Array.from({ length: db.size }, (_, i) => i + 1));
    for (const view of views) {
      expect({ view: view.name, duplicates: [...view.deliveries].filter(([, n]) => n > 1) }).toEqual({
        view: view.name,
        duplicates: [],
      });
      expect({ view: view.name, backwards: view.backwards }).toEqual({ view: view.name, backwards: [] });
      expect(Object.fromEntries(view.messages)).toEqual(Object.fromEntries(expected(db, view)));
      expect(view.client.isConnected()).toBe(true);
    }
  };

  test("SIGKILL of a node under traffic: its clients move to the other node and lose nothing", async () => {
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    for (let i = 0; i < 40; i++) {
      // The survivor takes the traffic, so every 201 maps to exactly one stored row.
      await send(`kill phase ${i}`, [a]);
      if (i === 12) expect(await stop(b, "SIGKILL")).not.toBe(0);
      await Bun.sleep(SEND_EVERY_MS);
    }
    await expectViewsEqualDatabase();
    // B's clients really lost their node and came back (through the balancer) to A.
    for (const view of views.filter((v) => v.name.startsWith("B/")))
      expect({ view: view.name, reconnected: view.states.includes("reconnecting") }).toEqual({
        view: view.name,
        reconnected: true,
      });
    // Both paths ran: live pushes (through Redis from A), and the REST catch-up of what B's clients missed.
    expect(views.every((v) => (v.sources.get("live") ?? 0) > 0)).toBe(true);
    expect(views.some((v) => v.name.startsWith("B/") && (v.sources.get("catch-up") ?? 0) > 0)).toBe(true);
  }, 45_000);

  test("rolling restart (SIGTERM, restart on the same port, one node at a time) loses nothing", async () => {
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    // B comes back from the kill first: the cluster is whole again before the rolling restart.
    await start(b);
    let sending = true;
    let sent = 0;
    const traffic = (async () => {
      while (sending) {
        // Alternate the preferred node so both nodes' sandboxes advance statuses.
        await send(`rolling phase ${sent}`, sent % 2 === 0 ? [a, b] : [b, a]);
        sent++;
        await Bun.sleep(SEND_EVERY_MS);
      }
    })();
    try {
      for (const node of [a, b]) {
        await Bun.sleep(300);
        expect(await stop(node, "SIGTERM")).toBe(0);
        await Bun.sleep(200);
        await start(node);
      }
      await Bun.sleep(300);
    } finally {
      sending = false;
      await traffic;
    }
    expect(live().length).toBe(2);
    expect(sent).toBeGreaterThan(10);
    await expectViewsEqualDatabase();
    console.info(
      `early statuses applied (client-module race): ${views.map((v) => `${v.name}=${v.earlyApplied}`).join(" ")}`,
    );
    // Every client was told to reconnect at least once during the rolling restart.
    for (const view of views)
      expect({
        view: view.name,
        reconnected: view.states.filter((s) => s === "reconnecting").length > 0,
      }).toEqual({ view: view.name, reconnected: true });
  }, 55_000);
});
