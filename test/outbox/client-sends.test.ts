/**
 * The typed client's sends against a real server: one idempotency key per composed message, and a
 * send whose answer was lost on the way back is repeated with the same key, so the server stores
 * and sends it once. Also: a retried message's status may step back from failed to pending once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { messages } from "../../db/schema.ts";
import { ConversationLedger } from "../../src/client/conversation-ledger.ts";
import { ApiClient, ApiRequestError } from "../../src/client/index.ts";
import type { Message } from "../../src/shared/events.ts";
import { startHarness } from "../chat/harness.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";

for (const backend of await backends()) {
  describe(`typed client sends on ${backend.name}`, () => {
    let h: Awaited<ReturnType<typeof startHarness>>;
    let token: string;

    beforeAll(async () => {
      h = await startHarness(backend);
      token = await h.token(h.fx.admin);
    }, SETUP_TIMEOUT_MS);

    afterAll(async () => {
      await h?.close();
    });

    const stored = async (text: string) =>
      (
        await h.server.ctx.database.db
          .select()
          .from(messages)
          .where(eq(messages.conversationId, h.fx.convQueue.id))
      ).filter((m) => m.content.text === text);

    test("a send whose answer is lost is repeated with the same key: one message, the same id", async () => {
      const keys: string[] = [];
      let lose = 1;
      const api = new ApiClient({
        baseUrl: h.url,
        accessToken: () => token,
        sendBackoff: { minMs: 10, maxMs: 20 },
        // The request reaches the server; its answer is lost on the way back (as on a flaky network).
        fetch: async (url, init) => {
          keys.push(new Headers(init.headers).get("idempotency-key") ?? "");
          const res = await fetch(url, init);
          if (lose-- > 0) throw new TypeError("network connection lost");
          return res;
        },
      });
      const { message } = await api.sendText(h.fx.convQueue.id, "lost answer");
      expect(keys).toHaveLength(2);
      expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(keys[1]).toBe(keys[0]!);
      const rows = await stored("lost answer");
      expect(rows.map((r) => r.id)).toEqual([message.id]);
    });

    test("each composed message gets its own key; an explicit key is reused as given", async () => {
      const keys: string[] = [];
      const api = new ApiClient({
        baseUrl: h.url,
        accessToken: () => token,
        fetch: (url, init) => {
          keys.push(new Headers(init.headers).get("idempotency-key") ?? "");
          return fetch(url, init);
        },
      });
      const a = await api.sendText(h.fx.convQueue.id, "two of these");
      const b = await api.sendText(h.fx.convQueue.id, "two of these");
      expect(a.message.id).not.toBe(b.message.id);
      expect(new Set(keys).size).toBe(2);
      const first = await api.sendText(h.fx.convQueue.id, "kept key", { idempotencyKey: "draft-1" });
      const again = await api.sendText(h.fx.convQueue.id, "kept key", { idempotencyKey: "draft-1" });
      expect(again.message.id).toBe(first.message.id);
      expect(await stored("kept key")).toHaveLength(1);
    });

    test("a refusal is not repeated; network errors are repeated only up to sendRetries", async () => {
      let calls = 0;
      const api = new ApiClient({
        baseUrl: h.url,
        accessToken: () => token,
        sendRetries: 2,
        sendBackoff: { minMs: 1, maxMs: 2 },
        fetch: async () => {
          calls++;
          throw new TypeError("offline");
        },
      });
      const err = await api.sendText(h.fx.convQueue.id, "offline").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiRequestError);
      expect(calls).toBe(3);
      const refusing = new ApiClient({ baseUrl: h.url, accessToken: () => token });
      const refused = await refusing
        .sendMessage(h.fx.convQueue.id, { content: {} } as never)
        .catch((e: unknown) => e as ApiRequestError);
      expect((refused as ApiRequestError).status).toBe(400);
    });
  });
}

describe("the conversation ledger and retried messages", () => {
  const message = { id: "m1", seq: 1, status: "failed" } as Message;

  test("failed → pending is accepted only for a retry, then the message moves forward again", () => {
    const ledger = new ConversationLedger("c1");
    ledger.accept(message);
    expect(ledger.acceptStatus({ message_id: "m1", status: "pending" })).toBe(false);
    expect(ledger.acceptStatus({ message_id: "m1", status: "pending", retry: true })).toBe(true);
    expect(ledger.acceptStatus({ message_id: "m1", status: "sent" })).toBe(true);
    expect(ledger.acceptStatus({ message_id: "m1", status: "pending", retry: true })).toBe(false);
  });
});
