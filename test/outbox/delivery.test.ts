/**
 * The durable outbox end to end, on PGlite and PostgreSQL: a real server whose WhatsApp Cloud
 * channel talks to a fake Graph API. What the server accepted is retried through transient
 * failures, fails at once on a permanent refusal with the provider's reason, honours Retry-After,
 * gives up when its budget is spent, and can be retried by hand.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { contacts, idempotencyKeys, messages, outboxJobs } from "../../db/schema.ts";
import type { Message } from "../../src/shared/events.ts";
import { startHarness } from "../chat/harness.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { waitFor } from "../reliability/support/wait.ts";
import { type FakeAction, type FakeGraph, startFakeGraph } from "../support/fake-graph.ts";

const WAIT = 15_000;

for (const backend of await backends()) {
  describe(`outbox delivery on ${backend.name}`, () => {
    let graph: FakeGraph;
    let h: Awaited<ReturnType<typeof startHarness>>;
    let token: string;

    beforeAll(async () => {
      graph = startFakeGraph();
      h = await startHarness(backend, {
        CHANNEL: "whatsapp",
        // These conversations never had an inbound message: the 24 h window (test/chat/service-window.test.ts) is not under test here.
        SERVICE_WINDOW_ENFORCED: "false",
        WHATSAPP_API_BASE_URL: graph.url,
        WHATSAPP_ACCESS_TOKEN: "fake-token",
        WHATSAPP_SEND_TIMEOUT_MS: "2000",
        OUTBOX_LEASE_MS: "5000",
        OUTBOX_POLL_MS: "50",
        OUTBOX_RETRY_BASE_MS: "20",
        OUTBOX_RETRY_MAX_MS: "200",
      });
      token = await h.token(h.fx.admin);
    }, SETUP_TIMEOUT_MS);

    afterAll(async () => {
      await h?.close();
      graph?.close();
    });

    beforeEach(() => graph.setBehaviour(() => ({ kind: "accept" })));

    const db = () => h.server.ctx.database.db;
    const send = async (text: string, headers: Record<string, string> = {}) => {
      const res = await h.api(`/api/v1/conversations/${h.fx.convQueue.id}/messages`, {
        method: "POST",
        token,
        headers,
        body: JSON.stringify({ content: { text } }),
      });
      return {
        status: res.status,
        body: (await res.json()) as { message: Message; error?: { code: string } },
      };
    };
    const row = async (id: string) => (await db().select().from(messages).where(eq(messages.id, id)))[0]!;
    const settled = (id: string) =>
      waitFor(
        async () => ["sent", "failed"].includes((await row(id)).status),
        `message ${id} to settle`,
        WAIT,
      );
    const reached = (text: string) => graph.accepted.filter((m) => m.text === text).length;

    test("an accepted message and its send job are committed together; the job is gone once the provider's id is stored", async () => {
      const { status, body } = await send("hello outbox");
      expect(status).toBe(201);
      expect(body.message.status).toBe("pending");
      await settled(body.message.id);
      const stored = await row(body.message.id);
      expect(stored.status).toBe("sent");
      expect(stored.whatsappMessageId).toStartWith("wamid.fake.");
      const [contact] = await db().select().from(contacts).where(eq(contacts.id, h.fx.convQueue.contactId));
      expect(graph.accepted.find((m) => m.wamid === stored.whatsappMessageId)?.to).toBe(contact!.whatsappId);
      const jobs = await db().select().from(outboxJobs).where(eq(outboxJobs.refId, body.message.id));
      expect(jobs).toHaveLength(0);
    });

    test("network resets, 5xx and retryable Graph codes are retried until the provider accepts, once", async () => {
      const script: FakeAction[] = [
        { kind: "reset" },
        { kind: "error", status: 500 },
        { kind: "error", status: 503, code: 131016, message: "Service unavailable" },
        { kind: "error", status: 400, code: 130429, message: "Rate limit hit" },
      ];
      graph.setBehaviour((req) =>
        req.body?.text?.body === "flaky" ? (script.shift() ?? { kind: "accept" }) : { kind: "accept" },
      );
      const { body } = await send("flaky");
      await settled(body.message.id);
      expect((await row(body.message.id)).status).toBe("sent");
      expect(graph.requests.filter((r) => r.body?.text?.body === "flaky")).toHaveLength(5);
      expect(reached("flaky")).toBe(1);
    });

    test("a permanent Graph refusal fails the message at once and keeps the provider's code and reason", async () => {
      graph.setBehaviour(() => ({
        kind: "error",
        status: 400,
        code: 131026,
        message: "Message undeliverable",
      }));
      const { body } = await send("undeliverable");
      await settled(body.message.id);
      const stored = await row(body.message.id);
      expect(stored.status).toBe("failed");
      expect(stored.errorCode).toBe("131026");
      expect(stored.errorMessage).toBe("Message undeliverable");
      expect(graph.requests.filter((r) => r.body?.text?.body === "undeliverable")).toHaveLength(1);
      // The failure and its reason reach the API as well.
      const page = await h.api(`/api/v1/conversations/${h.fx.convQueue.id}/messages?limit=5`, { token });
      const listed = ((await page.json()) as { data: Message[] }).data.find((m) => m.id === body.message.id);
      expect(listed).toMatchObject({
        status: "failed",
        error_code: "131026",
        error_message: "Message undeliverable",
      });
    });

    test("a 429 with Retry-After is not retried before the provider's delay", async () => {
      let first = true;
      graph.setBehaviour((req) => {
        if (req.body?.text?.body !== "slow down" || !first) return { kind: "accept" };
        first = false;
        return { kind: "error", status: 429, retryAfterS: 2 };
      });
      const { body } = await send("slow down");
      await waitFor(
        async () => {
          const [job] = await db().select().from(outboxJobs).where(eq(outboxJobs.refId, body.message.id));
          return job?.state === "queued" && job.attempts === 1;
        },
        "the rescheduled job",
        WAIT,
      );
      const [job] = await db().select().from(outboxJobs).where(eq(outboxJobs.refId, body.message.id));
      // Both times come from the database clock, in the statement that rescheduled the job.
      expect(job!.nextAttemptAt.getTime() - job!.updatedAt.getTime()).toBeGreaterThanOrEqual(2000);
      expect(
        (await db().select().from(outboxJobs).where(eq(outboxJobs.refId, body.message.id)))[0]?.lastErrorCode,
      ).toBe("channel_unavailable");
      await settled(body.message.id);
      expect(reached("slow down")).toBe(1);
    });

    test("POST …/messages/:id/retry sends a failed message again (same row); anything but a failed message is 409", async () => {
      graph.setBehaviour(() => ({
        kind: "error",
        status: 400,
        code: 131047,
        message: "Re-engagement message",
      }));
      const { body } = await send("try again");
      await settled(body.message.id);
      expect((await row(body.message.id)).status).toBe("failed");
      graph.setBehaviour(() => ({ kind: "accept" }));
      // A hand-off entry left from the first send (its worker claimed the job before it was
      // remembered) must not stand in for the row the retry set back to pending: the retry forgets it.
      const stale = await row(body.message.id);
      h.server.ctx.sender.handoff?.remember({
        message: { ...stale, status: "pending", content: { text: "stale copy" } },
        to: "000",
      });
      const retryPath = `/api/v1/conversations/${h.fx.convQueue.id}/messages/${body.message.id}/retry`;
      const res = await h.api(retryPath, { method: "POST", token });
      expect(res.status).toBe(202);
      const retried = ((await res.json()) as { message: Message }).message;
      expect(retried).toMatchObject({ id: body.message.id, status: "pending", error_code: null });
      await settled(body.message.id);
      expect((await row(body.message.id)).status).toBe("sent");
      expect(reached("try again")).toBe(1);
      expect(reached("stale copy")).toBe(0);
      const again = await h.api(retryPath, { method: "POST", token });
      expect(again.status).toBe(409);
      expect(((await again.json()) as { error: { code: string } }).error.code).toBe("message_not_failed");
      const missing = await h.api(
        `/api/v1/conversations/${h.fx.convQueue.id}/messages/${crypto.randomUUID()}/retry`,
        { method: "POST", token },
      );
      expect(missing.status).toBe(404);
      const viewer = await h.api(retryPath, { method: "POST", token: await h.token(h.fx.viewer) });
      expect(viewer.status).toBe(403);
    });

    test("retryable failures stop when the job's retry budget is spent: the message fails with the last reason", async () => {
      graph.setBehaviour((req) =>
        req.body?.text?.body === "never" ? { kind: "error", status: 502 } : { kind: "accept" },
      );
      const { body } = await send("never");
      await waitFor(
        async () => graph.requests.some((r) => r.body?.text?.body === "never"),
        "a first attempt",
        WAIT,
      );
      // Spend the budget (OUTBOX_RETRY_BUDGET, hours by default) without waiting for it.
      await db()
        .update(outboxJobs)
        .set({ deadlineAt: new Date() })
        .where(eq(outboxJobs.refId, body.message.id));
      await settled(body.message.id);
      const stored = await row(body.message.id);
      expect(stored).toMatchObject({ status: "failed", errorCode: "channel_unavailable" });
      expect(stored.errorMessage).toContain("502");
      expect(reached("never")).toBe(0);
    });

    describe("idempotency keys", () => {
      test("the same key from the same user returns the original message (200, same id) and sends nothing", async () => {
        const key = `k-${crypto.randomUUID()}`;
        const first = await send("once", { "Idempotency-Key": key });
        expect(first.status).toBe(201);
        const again = await send("once", { "Idempotency-Key": key });
        expect(again.status).toBe(200);
        expect(again.body.message.id).toBe(first.body.message.id);
        await settled(first.body.message.id);
        const byBody = await h.api(`/api/v1/conversations/${h.fx.convQueue.id}/messages`, {
          method: "POST",
          token,
          body: JSON.stringify({ content: { text: "once" }, client_message_id: key }),
        });
        expect(byBody.status).toBe(200);
        expect(((await byBody.json()) as { message: Message }).message.id).toBe(first.body.message.id);
        await Bun.sleep(200);
        expect(reached("once")).toBe(1);
        const count = await db()
          .select()
          .from(messages)
          .where(eq(messages.conversationId, h.fx.convQueue.id));
        expect(count.filter((m) => m.content.text === "once")).toHaveLength(1);
      });

      test("concurrent duplicates store and send one message; every answer names it", async () => {
        const key = `c-${crypto.randomUUID()}`;
        const answers = await Promise.all(
          Array.from({ length: 8 }, () => send("concurrent", { "Idempotency-Key": key })),
        );
        expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
        expect(answers.filter((a) => a.status === 200)).toHaveLength(7);
        expect(new Set(answers.map((a) => a.body.message.id)).size).toBe(1);
        await settled(answers[0]!.body.message.id);
        await Bun.sleep(200);
        expect(reached("concurrent")).toBe(1);
      });

      test("keys are per user: another user's same key sends its own message", async () => {
        const key = `u-${crypto.randomUUID()}`;
        const mine = await send("per user", { "Idempotency-Key": key });
        const res = await h.api(`/api/v1/conversations/${h.fx.convQueue.id}/messages`, {
          method: "POST",
          token: await h.token(h.fx.spare[0]!),
          headers: { "Idempotency-Key": key },
          body: JSON.stringify({ content: { text: "per user" } }),
        });
        expect(res.status).toBe(201);
        expect(((await res.json()) as { message: Message }).message.id).not.toBe(mine.body.message.id);
      });

      test("after 24 hours a key starts a new message, and the user's expired keys are dropped", async () => {
        const key = `old-${crypto.randomUUID()}`;
        const other = `older-${crypto.randomUUID()}`;
        const first = await send("a day ago", { "Idempotency-Key": key });
        await send("a day ago too", { "Idempotency-Key": other });
        const dayAgo = new Date(Date.now() - 24 * 3600_000 - 60_000);
        await db()
          .update(idempotencyKeys)
          .set({ createdAt: dayAgo })
          .where(eq(idempotencyKeys.userId, h.fx.admin.id));
        const again = await send("a day ago", { "Idempotency-Key": key });
        expect(again.status).toBe(201);
        expect(again.body.message.id).not.toBe(first.body.message.id);
        const left = await db()
          .select()
          .from(idempotencyKeys)
          .where(eq(idempotencyKeys.userId, h.fx.admin.id));
        expect(left.map((k) => k.key)).toEqual([key]);
      });

      test("a key used in another conversation is 422 idempotency_key_reused", async () => {
        const key = `r-${crypto.randomUUID()}`;
        await send("here", { "Idempotency-Key": key });
        const res = await h.api(`/api/v1/conversations/${h.fx.convAssigned.id}/messages`, {
          method: "POST",
          token,
          headers: { "Idempotency-Key": key },
          body: JSON.stringify({ content: { text: "there" } }),
        });
        expect(res.status).toBe(422);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("idempotency_key_reused");
      });

      test("a malformed key is 400 invalid_idempotency_key, and so is a body key that contradicts the header", async () => {
        for (const bad of ["", "x".repeat(129), "has space", 'quote"', "ünïcode"]) {
          const res = await h.api(`/api/v1/conversations/${h.fx.convQueue.id}/messages`, {
            method: "POST",
            token,
            body: JSON.stringify({ content: { text: "bad key" }, client_message_id: bad }),
          });
          expect(res.status).toBe(400);
          expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
            "invalid_idempotency_key",
          );
        }
        const header = await send("bad key", { "Idempotency-Key": "a b" });
        expect(header.status).toBe(400);
        expect(header.body.error?.code).toBe("invalid_idempotency_key");
        const mismatch = await h.api(`/api/v1/conversations/${h.fx.convQueue.id}/messages`, {
          method: "POST",
          token,
          headers: { "Idempotency-Key": "one" },
          body: JSON.stringify({ content: { text: "bad key" }, client_message_id: "two" }),
        });
        expect(mismatch.status).toBe(400);
        expect(reached("bad key")).toBe(0);
      });
    });

    test("/metrics shows queue depth, oldest pending age, attempts and failures by reason", async () => {
      const res = await h.api("/metrics");
      const text = await res.text();
      expect(text).toMatch(/switchboard_outbox_jobs\{state="queued"\} \d+/);
      expect(text).toMatch(/switchboard_outbox_jobs\{state="failed"\} [1-9]/);
      expect(text).toMatch(/switchboard_outbox_oldest_pending_seconds \d/);
      expect(text).toMatch(
        /switchboard_outbox_attempts_total\{kind="send_message",outcome="succeeded"\} [1-9]/,
      );
      expect(text).toMatch(
        /switchboard_outbox_failures_total\{final="true",kind="send_message",reason="131026"\} 1/,
      );
      expect(text).toMatch(
        /switchboard_outbox_failures_total\{final="false",kind="send_message",reason="channel_unreachable"\} [1-9]/,
      );
    });
  });
}
