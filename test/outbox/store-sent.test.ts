/**
 * The outbox's "sent" commits, group-committed (src/outbox/store-sent.ts), on PGlite and
 * PostgreSQL: marks finishing together share a statement, each still fenced by its own lease and
 * guarded by its message's status, each caller learns its own outcome, and a batch the database
 * refuses is tried mark by mark. Statements are counted with the client's onQuery hook. Which marks
 * share a batch needs no timing: the first mark's statement is in flight while the others are
 * submitted, so they go together in the next.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { eq, inArray, sql } from "drizzle-orm";
import type { DatabaseHandle } from "../../db/client.ts";
import { isUniqueViolation } from "../../db/errors.ts";
import { messages, outboxJobs } from "../../db/schema.ts";
import { type ClaimedJob, claimJobs, enqueueJob, failJob } from "../../src/outbox/store.ts";
import { type SentMark, SentStore } from "../../src/outbox/store-sent.ts";
import { advanceStatus, insertMessage } from "../../src/services/messages.ts";
import { type BackendInstance, backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { createConversation } from "../db/conversation-fixture.ts";

for (const backend of await backends()) {
  describe(`outbox sent commits on ${backend.name}`, () => {
    let instance: BackendInstance;
    let handle: DatabaseHandle;
    let statements = 0;
    let orgId: string;
    let conversationId: string;

    beforeAll(async () => {
      instance = await backend.create();
      // One connection: PostgreSQL prepares a statement once per connection, and postgres.js counts that too.
      handle = await instance.open({ onQuery: () => statements++, maxConnections: 1 });
      ({ orgId, conversationId } = await createConversation(handle.db));
    }, SETUP_TIMEOUT_MS);

    afterAll(async () => {
      await handle?.close();
      await instance?.dispose();
    });

    beforeEach(async () => {
      await handle.db.delete(outboxJobs);
    });

    /** `n` pending messages with their send jobs, claimed by `owner`. */
    const claimedSends = async (n: number, owner = "node-a") => {
      for (let i = 0; i < n; i++) {
        const { message } = await insertMessage(handle.db, {
          conversationId,
          organizationId: orgId,
          direction: "outbound",
          senderType: "agent",
          messageType: "text",
          content: { text: `send ${i}` },
        });
        await enqueueJob(handle.db, { kind: "send_message", refId: message.id, budgetMs: 60_000 });
      }
      return claimJobs(handle.db, owner, n, 60_000);
    };
    const markOf = (job: ClaimedJob, whatsappMessageId = `wamid.${crypto.randomUUID()}`): SentMark => ({
      job,
      messageId: job.refId,
      whatsappMessageId,
      at: new Date(),
    });
    const messageOf = async (id: string) =>
      (await handle.db.select().from(messages).where(eq(messages.id, id)))[0]!;
    const jobOf = async (id: string) =>
      (await handle.db.select().from(outboxJobs).where(eq(outboxJobs.id, id)))[0];
    /** The job's lease runs out and `owner` claims it again (attempts + 1). */
    const takeOver = async (job: ClaimedJob, owner: string) => {
      await handle.db
        .update(outboxJobs)
        .set({ leaseExpiresAt: sql`now() - interval '1 second'` })
        .where(eq(outboxJobs.id, job.id));
      const [taken] = await claimJobs(handle.db, owner, 1, 60_000);
      expect(taken).toMatchObject({ id: job.id, attempts: job.attempts + 1 });
      return taken!;
    };
    /** Submits `first` alone, then `rest` while its statement is in flight: `rest` is one batch. */
    const afterOne = (store: SentStore, first: SentMark, rest: SentMark[]) => {
      const head = store.mark(first);
      return Promise.allSettled([head, ...rest.map((m) => store.mark(m))]);
    };

    test("marks finishing together are stored in fewer statements than marks: every message sent with its id, every job deleted", async () => {
      const jobs = await claimedSends(20);
      const marks = jobs.map((job) => markOf(job));
      const store = new SentStore(handle.db);
      statements = 0;
      const advanced = await Promise.all(marks.map((m) => store.mark(m)));
      expect(statements).toBe(2);
      expect(advanced).toEqual(marks.map(() => true));
      const rows = await handle.db
        .select()
        .from(messages)
        .where(
          inArray(
            messages.id,
            marks.map((m) => m.messageId),
          ),
        );
      for (const mark of marks)
        expect(rows.find((r) => r.id === mark.messageId)).toMatchObject({
          status: "sent",
          whatsappMessageId: mark.whatsappMessageId,
          sentAt: mark.at,
        });
      expect(await handle.db.select().from(outboxJobs)).toHaveLength(0);
    });

    test("a mark whose lease was lost shares a batch with good ones: the good ones commit, it changes neither its message's later status nor the new holder's job", async () => {
      const [first, good1, good2, failedElsewhere, stillRunning] = await claimedSends(5);
      // The new holder of one job failed its message; the new holder of the other is still sending.
      const failedBy = await takeOver(failedElsewhere!, "node-b");
      await advanceStatus(
        handle.db,
        { id: failedBy.refId },
        { status: "failed", at: new Date(), errorCode: "131026", errorMessage: "undeliverable" },
      );
      await failJob(handle.db, failedBy, { code: "131026", message: "undeliverable" });
      await takeOver(stillRunning!, "node-b");
      const lostMarks = [markOf(failedElsewhere!), markOf(stillRunning!)];
      const store = new SentStore(handle.db);
      statements = 0;
      const settled = await afterOne(store, markOf(first!), [markOf(good1!), markOf(good2!), ...lostMarks]);
      expect(statements).toBe(2);
      expect(settled.map((s) => (s.status === "fulfilled" ? s.value : s.reason))).toEqual([
        true,
        true,
        true,
        // Not advanced: the message had failed meanwhile.
        false,
        // Advanced, as a lone mark of a lost lease always was: the provider has this message, and
        // its id stored lets the new holder skip a second send.
        true,
      ]);
      for (const job of [first, good1, good2]) {
        expect((await messageOf(job!.refId)).status).toBe("sent");
        expect(await jobOf(job!.id)).toBeUndefined();
      }
      expect(await messageOf(failedElsewhere!.refId)).toMatchObject({
        status: "failed",
        whatsappMessageId: null,
      });
      expect(await jobOf(failedElsewhere!.id)).toMatchObject({ state: "failed", attempts: 2 });
      expect(await messageOf(stillRunning!.refId)).toMatchObject({
        status: "sent",
        whatsappMessageId: lostMarks[1]!.whatsappMessageId,
      });
      expect(await jobOf(stillRunning!.id)).toMatchObject({
        state: "leased",
        leaseOwner: "node-b",
        attempts: 2,
      });
    });

    test("two attempts of one message never share a batch: the first stores its id, the second is not advanced and settles its job", async () => {
      const [first, job] = await claimedSends(2);
      const retaken = await takeOver(job!, "node-a");
      const stale = markOf(job!, "wamid.stale-attempt");
      const fresh = markOf(retaken, "wamid.fresh-attempt");
      const store = new SentStore(handle.db);
      statements = 0;
      const settled = await afterOne(store, markOf(first!), [stale, fresh]);
      expect(statements).toBe(3);
      expect(settled.map((s) => s.status === "fulfilled" && s.value)).toEqual([true, true, false]);
      expect((await messageOf(job!.refId)).whatsappMessageId).toBe("wamid.stale-attempt");
      expect(await jobOf(job!.id)).toBeUndefined();
    });

    test("a batch the database refuses is tried mark by mark: the bad mark's caller gets the error, the others commit", async () => {
      const [first, good1, good2, bad] = await claimedSends(4);
      const taken = markOf(first!);
      const store = new SentStore(handle.db);
      statements = 0;
      // The bad mark names a channel id another message holds (whatsapp_message_id is unique).
      const settled = await afterOne(store, taken, [
        markOf(good1!),
        markOf(bad!, taken.whatsappMessageId),
        markOf(good2!),
      ]);
      // The first alone, the refused batch, then each of its three marks alone.
      expect(statements).toBe(5);
      expect(settled.map((s) => s.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
      expect(isUniqueViolation((settled[2] as PromiseRejectedResult).reason)).toBe(true);
      for (const job of [good1, good2]) {
        expect((await messageOf(job!.refId)).status).toBe("sent");
        expect(await jobOf(job!.id)).toBeUndefined();
      }
      expect(await messageOf(bad!.refId)).toMatchObject({ status: "pending", whatsappMessageId: null });
      expect(await jobOf(bad!.id)).toMatchObject({ state: "leased", attempts: 1 });
    });
  });
}
