/**
 * Nothing lost: while agents send messages over REST, the WhatsApp webhook brings inbound messages
 * and status updates (some out of order), and the sandbox channel moves statuses forward, clients
 * built on the client module (src/client SocketClient) lose their transport at random, are kicked
 * by the server, and the server itself restarts on the same PGlite directory and port. At the end
 * every client's view equals the database: every message once (no duplicates), each status the
 * stored one, and no status ever seen going backwards.
 *
 * The chaos schedule is seeded: NOTHING_LOST_SEED=<n> replays a run.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { messages as messagesTable } from "../../db/schema.ts";
import { isStatusAdvance, type MessageSource, SocketClient } from "../../src/client/index.ts";
import { signPayload } from "../../src/http/webhooks/signature.ts";
import type { Message, MessageStatus, Uuid } from "../../src/shared/events.ts";
import { type ChatHarness, type FixtureUser, startChat, TEST_APP_SECRET } from "./support/chat.ts";
import { fetchBounded, waitFor } from "./support/wait.ts";

const SEED = Number(process.env.NOTHING_LOST_SEED ?? 6);
const OUTBOUND_PER_PHASE = 24;
const INBOUND_PER_PHASE = 6;
/** Generous: each start opens PGlite (seconds on a loaded machine). */
const TEST_BOUND_MS = 240_000;
const RANK: Record<MessageStatus, number> = { pending: 0, sent: 1, delivered: 2, read: 3, failed: 4 };

/** mulberry32: a tiny seeded PRNG so a failing schedule can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What one client saw, built only from the client module's events. */
class View {
  readonly deliveries = new Map<Uuid, number>();
  readonly messages = new Map<Uuid, { seq: number; status: MessageStatus }>();
  readonly backwards: string[] = [];
  readonly sources = new Map<MessageSource, number>();
  /** Errors the client module reported (kept for the failure message). */
  readonly errors: string[] = [];

  constructor(
    readonly name: string,
    readonly client: SocketClient,
  ) {
    client.onNewMessage((m: Message, source) => {
      this.deliveries.set(m.id, (this.deliveries.get(m.id) ?? 0) + 1);
      this.sources.set(source, (this.sources.get(source) ?? 0) + 1);
      this.messages.set(m.id, { seq: m.seq, status: m.status });
    });
    client.onError((e) => this.errors.push(`${"code" in e ? e.code : ""}: ${e.message}`));
    client.onMessageStatus((e) => {
      const known = this.messages.get(e.message_id);
      if (!known) return;
      if (RANK[e.status] < RANK[known.status] || (known.status === "failed" && e.status !== "failed"))
        this.backwards.push(`${e.message_id}: ${known.status} → ${e.status}`);
      if (isStatusAdvance(known.status, e.status)) known.status = e.status;
    });
  }
}

describe("nothing lost across transport drops, kicks and a server restart", () => {
  const pgliteDir = mkdtempSync(join(tmpdir(), "switchboard-nothing-lost-"));
  let chat: ChatHarness | null = null;
  const clients: SocketClient[] = [];

  afterAll(async () => {
    for (const c of clients) c.close();
    await chat?.stop();
    rmSync(pgliteDir, { recursive: true, force: true });
  }, 30_000);

  test(
    "every client ends with exactly the database's messages and statuses",
    async () => {
      const random = prng(SEED);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
      chat = await startChat({ pgliteDir, env: { SANDBOX_STEP_MS: "15" } });
      const port = Number(new URL(chat.url).port);
      const { a } = chat;
      const conversationId = a.conversationId;
      const agentToken = await chat.token(a.admin);

      // Four watchers over both transports; each user stays under the per-user connection cap.
      const watchers: [string, FixtureUser, ("polling" | "websocket")[]][] = [
        ["admin/upgrade", a.admin, ["polling", "websocket"]],
        ["admin/websocket", a.admin, ["websocket"]],
        ["agent/polling", a.agent, ["polling"]],
        ["viewer/websocket", a.viewer, ["websocket"]],
      ];
      const views: View[] = [];
      for (const [name, user, transports] of watchers) {
        const client = new SocketClient({
          url: chat.url,
          auth: await chat.token(user),
          transports,
          reconnectionDelayMs: 100,
          reconnectionDelayMaxMs: 500,
          statusResyncLimit: 100,
        });
        clients.push(client);
        views.push(new View(name, client));
        await client.connect();
        await client.joinConversation(conversationId);
      }

      let inboundCounter = 0;
      const sent: string[] = [];
      const postMessage = async (text: string): Promise<void> => {
        // Retried until the server takes it: a refused connection during the restart stored nothing.
        await waitFor(
          async () => {
            const res = await fetchBounded(`${chat!.url}/api/v1/conversations/${conversationId}/messages`, {
              method: "POST",
              headers: { authorization: `Bearer ${agentToken}`, "content-type": "application/json" },
              body: JSON.stringify({ content: { text } }),
            }).catch(() => null);
            return res?.status === 201;
          },
          `POST ${text}`,
          60_000,
          100,
        );
        sent.push(text);
      };
      const webhook = async (value: Record<string, unknown>): Promise<void> => {
        const body = JSON.stringify({
          object: "whatsapp_business_account",
          entry: [
            {
              id: "waba",
              changes: [
                {
                  field: "messages",
                  value: {
                    messaging_product: "whatsapp",
                    metadata: { phone_number_id: a.phoneNumberId },
                    ...value,
                  },
                },
              ],
            },
          ],
        });
        const res = await fetchBounded(`${chat!.url}/api/v1/webhooks/whatsapp`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-hub-signature-256": signPayload(TEST_APP_SECRET, body),
          },
          body,
        });
        expect(res.status).toBe(200);
      };
      const inbound = async (): Promise<void> => {
        const n = ++inboundCounter;
        const message = {
          id: `wamid.nothing-lost.${SEED}.${n}`,
          from: a.contactWhatsappId,
          timestamp: String(Math.floor(Date.now() / 1000)),
          type: "text",
          text: { body: `inbound ${n}` },
        };
        await webhook({
          contacts: [{ wa_id: a.contactWhatsappId, profile: { name: "Contact" } }],
          messages: [message],
        });
        // WhatsApp retries deliveries: the same message again must not create a second row or event.
        if (random() < 0.5) await webhook({ messages: [message] });
      };
      /** Out-of-order and repeated statuses for some outbound messages, as WhatsApp may send them. */
      const shuffledStatuses = async (): Promise<void> => {
        const rows = await chat!.running.ctx.database.db
          .select()
          .from(messagesTable)
          .where(eq(messagesTable.conversationId, conversationId));
        const withWamid = rows.filter((r) => r.whatsappMessageId?.startsWith("wamid.sandbox."));
        if (withWamid.length === 0) return;
        const row = pick(withWamid);
        const ts = String(Math.floor(Date.now() / 1000));
        await webhook({
          statuses: [
            { id: row.whatsappMessageId, status: "read", timestamp: ts, recipient_id: a.contactWhatsappId },
            {
              id: row.whatsappMessageId,
              status: "delivered",
              timestamp: ts,
              recipient_id: a.contactWhatsappId,
            },
            { id: row.whatsappMessageId, status: "sent", timestamp: ts, recipient_id: a.contactWhatsappId },
          ],
        });
      };
      /** A random fault: the client drops its transport, or the server kicks a socket's connection. */
      const chaos = (): void => {
        if (random() < 0.5) pick(clients).dropTransport();
        else {
          const sockets = [...chat!.running.realtime.io.sockets.sockets.values()];
          if (sockets.length > 0) pick(sockets).conn.close();
        }
      };

      const phase = async (label: string): Promise<void> => {
        for (let i = 0; i < OUTBOUND_PER_PHASE; i++) {
          await postMessage(`${label} outbound ${i}`);
          if (i % 4 === 0) await inbound();
          if (i % 5 === 0) await shuffledStatuses();
          if (random() < 0.3) chaos();
          if (random() < 0.2) await Bun.sleep(Math.floor(random() * 50));
        }
        for (let i = 0; i < INBOUND_PER_PHASE - Math.ceil(OUTBOUND_PER_PHASE / 4); i++) await inbound();
      };

      await phase("before-restart");
      // Restart on the same PGlite directory and port while clients are connected and statuses pending.
      await chat.running.stop();
      const restarted = await startChat({
        pgliteDir,
        port,
        skipFixtures: true,
        env: { SANDBOX_STEP_MS: "15" },
      });
      const first = chat;
      chat = { ...restarted, a: first.a, b: first.b };
      await phase("after-restart");

      // Quiet period: the sandbox finishes its ticks; then one more drop each so every client resyncs.
      await Bun.sleep(500);
      for (const c of clients) c.dropTransport();

      const truth = async () => {
        const rows = await chat!.running.ctx.database.db
          .select()
          .from(messagesTable)
          .where(eq(messagesTable.conversationId, conversationId));
        return new Map(rows.map((r) => [r.id, { seq: r.seq, status: r.status as MessageStatus }]));
      };
      const matches = async (view: View): Promise<boolean> => {
        const db = await truth();
        if (db.size !== view.messages.size) return false;
        for (const [id, row] of db) {
          const seen = view.messages.get(id);
          if (!seen || seen.seq !== row.seq || seen.status !== row.status) return false;
        }
        return true;
      };
      const diff = async (view: View) => {
        const db = await truth();
        const missing = [...db].filter(([id]) => !view.messages.has(id)).map(([, r]) => r.seq);
        const wrong = [...db]
          .filter(([id, r]) => view.messages.has(id) && view.messages.get(id)!.status !== r.status)
          .map(([id, r]) => `seq ${r.seq}: saw ${view.messages.get(id)!.status}, stored ${r.status} (${id})`);
        return {
          view: view.name,
          state: view.client.state,
          watching: view.client.conversations,
          missingSeqs: missing,
          wrongStatuses: wrong,
          clientErrors: view.errors,
        };
      };
      for (const view of views) {
        try {
          await waitFor(() => matches(view), `${view.name}'s view to equal the database`, 30_000, 200);
        } catch (err) {
          throw new Error(`${(err as Error).message}: ${JSON.stringify(await diff(view))}`);
        }
      }

      const db = await truth();
      // The restart kept everything: the seeded history (none) + every accepted send + every inbound.
      expect(db.size).toBe(sent.length + inboundCounter);
      const seqs = [...db.values()].map((r) => r.seq).sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: db.size }, (_, i) => i + 1));
      for (const view of views) {
        expect({ view: view.name, duplicates: [...view.deliveries].filter(([, n]) => n > 1) }).toEqual({
          view: view.name,
          duplicates: [],
        });
        expect({ view: view.name, backwards: view.backwards }).toEqual({ view: view.name, backwards: [] });
        expect(Object.fromEntries([...view.messages].map(([id, m]) => [id, m]))).toEqual(
          Object.fromEntries(db),
        );
      }
      // The run really exercised both paths: live pushes and catch-ups.
      const sources = views.map((v) => Object.fromEntries(v.sources));
      expect(sources.some((s) => (s.live ?? 0) > 0)).toBe(true);
      expect(sources.some((s) => (s["catch-up"] ?? 0) > 0)).toBe(true);
    },
    TEST_BOUND_MS,
  );
});
