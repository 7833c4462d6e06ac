import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { DatabaseHandle } from "../../db/client.ts";
import { conversations, messages } from "../../db/schema.ts";
import { seedIfEmpty } from "../../src/seed.ts";
import { InboundService } from "../../src/services/inbound.ts";
import { advanceStatus, insertMessage, listMessages } from "../../src/services/messages.ts";
import { RecordingNotifier } from "../../src/services/notifier.ts";
import { backends, SETUP_TIMEOUT_MS } from "./backends.ts";
import { createConversation } from "./conversation-fixture.ts";

for (const backend of await backends()) {
  describe(`message repository on ${backend.name}`, () => {
    let handle: DatabaseHandle;
    let statements = 0;
    let instance: Awaited<ReturnType<typeof backend.create>>;
    let orgId: string;
    let conversationId: string;

    beforeAll(async () => {
      instance = await backend.create();
      // One connection: PostgreSQL prepares a statement once per connection, and postgres.js counts that too.
      handle = await instance.open({ onQuery: () => statements++, maxConnections: 1 });
      ({ orgId, conversationId } = await createConversation(handle.db, {
        phoneNumberId: "pn-1",
        whatsappId: "4911111",
      }));
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => {
      await handle.close();
      await instance.dispose();
    }, SETUP_TIMEOUT_MS);

    const store = async (text: string) =>
      (
        await handle.db.transaction((tx) =>
          insertMessage(tx, {
            conversationId,
            organizationId: orgId,
            direction: "outbound",
            senderType: "agent",
            messageType: "text",
            content: { text },
          }),
        )
      ).message;

    test("concurrent writers get gap-free, unique seqs in one conversation", async () => {
      const rows = await Promise.all(Array.from({ length: 20 }, (_, i) => store(`m${i}`)));
      expect(rows.map((r) => r.seq).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });

    test("a stored message reads back as returned, with its conversation's new state", async () => {
      const at = new Date(Date.now() + 60_000);
      const stored = await insertMessage(handle.db, {
        conversationId,
        organizationId: orgId,
        direction: "inbound",
        senderType: "contact",
        messageType: "text",
        content: { text: "read back" },
        status: "delivered",
        whatsappMessageId: `wamid.readback.${crypto.randomUUID()}`,
        createdAt: at,
      });
      const [row] = await handle.db.select().from(messages).where(eq(messages.id, stored.message.id));
      expect(row).toEqual(stored.message);
      const [conversation] = await handle.db
        .select()
        .from(conversations)
        .where(eq(conversations.id, conversationId));
      expect(conversation).toEqual(stored.conversation);
      expect(stored.conversation.lastSeq).toBe(stored.message.seq);
      expect(stored.conversation.lastMessageAt).toEqual(at);
      // Undo, so the seq-based checks below see 20 messages.
      await handle.db.delete(messages).where(eq(messages.id, stored.message.id));
      await handle.db
        .update(conversations)
        .set({ lastSeq: stored.message.seq - 1 })
        .where(eq(conversations.id, conversationId));
    });

    test("history pages newest first and catch-up after a seq oldest first", async () => {
      const page = await listMessages(handle.db, conversationId, { limit: 5 });
      expect(page.order).toBe("desc");
      expect(page.rows.map((r) => r.seq)).toEqual([20, 19, 18, 17, 16]);
      expect(page.hasMore).toBe(true);
      const older = await listMessages(handle.db, conversationId, { limit: 5, before: 16 });
      expect(older.rows[0]!.seq).toBe(15);
      const catchUp = await listMessages(handle.db, conversationId, { limit: 100, after: 17 });
      expect(catchUp.order).toBe("asc");
      expect(catchUp.rows.map((r) => r.seq)).toEqual([18, 19, 20]);
      expect(catchUp.hasMore).toBe(false);
    });

    test("status only moves forward", async () => {
      const row = await store("status");
      const at = new Date();
      expect((await advanceStatus(handle.db, { id: row.id }, { status: "delivered", at }))?.status).toBe(
        "delivered",
      );
      expect(await advanceStatus(handle.db, { id: row.id }, { status: "sent", at })).toBeNull();
      expect(await advanceStatus(handle.db, { id: row.id }, { status: "failed", at })).toBeNull();
      const read = await advanceStatus(handle.db, { id: row.id }, { status: "read", at });
      expect(read?.status).toBe("read");
      expect(read?.sentAt).not.toBeNull();
      expect(read?.readAt).not.toBeNull();
    });

    test("an inbound batch is idempotent by WhatsApp id and coalesces statuses", async () => {
      const notifier = new RecordingNotifier();
      const inbound = new InboundService(handle.db, notifier);
      const batch = {
        messages: [
          {
            phoneNumberId: "pn-1",
            whatsappMessageId: "wamid.in.1",
            from: "4922222",
            contactName: "Eve",
            at: new Date(),
            messageType: "text" as const,
            content: { text: "hi" },
          },
        ],
        statuses: [],
      };
      const first = await inbound.ingest(batch);
      expect(first.storedMessages).toBe(1);
      const again = await inbound.ingest(batch);
      expect(again.storedMessages).toBe(0);
      expect(again.duplicateMessages).toBe(1);
      // The stored message and its conversation's inbox entry, once: the retry emits nothing.
      expect(notifier.events.map((e) => e.kind)).toEqual(["message:new", "conversation:updated"]);

      const out = await store("to be acked");
      await advanceStatus(
        handle.db,
        { id: out.id },
        { status: "sent", at: new Date(), whatsappMessageId: "wamid.out.1" },
      );
      const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
      const res = await inbound.ingest({
        messages: [],
        statuses: [
          { whatsappMessageId: "wamid.out.1", status: "read", at: t(3) },
          { whatsappMessageId: "wamid.out.1", status: "delivered", at: t(2) },
        ],
      });
      expect(res.appliedStatuses).toBe(1);
      const last = notifier.events.at(-1);
      expect(last?.kind === "message:status" && last.status.status).toBe("read");
    });

    test("a batch's reports of one status are applied together, each only forward, each stamped with its own time; unknown ids are kept for later", async () => {
      const notifier = new RecordingNotifier();
      const inbound = new InboundService(handle.db, notifier);
      const rows = [];
      for (const i of [1, 2, 3]) {
        const row = await store(`grouped ${i}`);
        await advanceStatus(
          handle.db,
          { id: row.id },
          { status: "sent", at: new Date(), whatsappMessageId: `wamid.grouped.${i}` },
        );
        rows.push(row);
      }
      // Message 3 is already read: its late "delivered" must not move it back.
      await advanceStatus(handle.db, { id: rows[2]!.id }, { status: "read", at: new Date() });
      const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
      const res = await inbound.ingest({
        messages: [],
        statuses: [1, 2, 3, 4].map((i) => ({
          whatsappMessageId: `wamid.grouped.${i}`,
          status: "delivered" as const,
          at: t(i),
        })),
      });
      expect(res.appliedStatuses).toBe(2);
      expect(res.ignoredStatuses).toBe(2);
      expect(inbound.orphanCount).toBe(1);
      const after = await handle.db
        .select()
        .from(messages)
        .where(eq(messages.conversationId, conversationId));
      const byId = new Map(after.map((m) => [m.id, m]));
      expect(byId.get(rows[0]!.id)?.status).toBe("delivered");
      expect(byId.get(rows[0]!.id)?.deliveredAt?.toISOString()).toBe(t(1).toISOString());
      expect(byId.get(rows[1]!.id)?.deliveredAt?.toISOString()).toBe(t(2).toISOString());
      expect(byId.get(rows[2]!.id)?.status).toBe("read");
      const events = notifier.events.flatMap((e) => (e.kind === "message:status" ? [e.status] : []));
      expect(events.map((e) => [e.message_id, e.status, e.timestamp])).toEqual([
        [rows[0]!.id, "delivered", t(1).toISOString()],
        [rows[1]!.id, "delivered", t(2).toISOString()],
      ]);
    });

    test("a batch's sent, delivered and read reports go in one statement, each message only forward and stamped for its own status", async () => {
      const notifier = new RecordingNotifier();
      const inbound = new InboundService(handle.db, notifier);
      const t = (s: number) => new Date(Date.UTC(2026, 0, 2, 0, 0, s));
      const wamid = (n: string) => `wamid.mixed.${n}`;
      const pending = await insertMessage(handle.db, {
        conversationId,
        organizationId: orgId,
        direction: "outbound",
        senderType: "agent",
        messageType: "text",
        content: { text: "mixed a" },
        whatsappMessageId: wamid("a"),
      });
      const sent = [];
      for (const n of ["b", "c", "d"]) {
        const row = await store(`mixed ${n}`);
        await advanceStatus(
          handle.db,
          { id: row.id },
          { status: "sent", at: t(0), whatsappMessageId: wamid(n) },
        );
        sent.push(row);
      }
      await advanceStatus(handle.db, { id: sent[2]!.id }, { status: "read", at: t(0) });
      statements = 0;
      const res = await inbound.ingest({
        messages: [],
        statuses: [
          { whatsappMessageId: wamid("a"), status: "sent", at: t(1) },
          { whatsappMessageId: wamid("b"), status: "read", at: t(2) },
          { whatsappMessageId: wamid("c"), status: "delivered", at: t(3) },
        ],
      });
      expect(statements).toBe(1);
      expect(res.appliedStatuses).toBe(3);
      const late = await inbound.ingest({
        messages: [],
        statuses: [
          { whatsappMessageId: wamid("d"), status: "delivered", at: t(4) },
          { whatsappMessageId: wamid("c"), status: "sent", at: t(4) },
        ],
      });
      expect(late).toMatchObject({ appliedStatuses: 0, ignoredStatuses: 2 });
      const row = async (id: string) =>
        (await handle.db.select().from(messages).where(eq(messages.id, id)))[0];
      expect(await row(pending.message.id)).toMatchObject({
        status: "sent",
        sentAt: t(1),
        deliveredAt: null,
        readAt: null,
      });
      expect(await row(sent[0]!.id)).toMatchObject({
        status: "read",
        sentAt: t(0),
        deliveredAt: t(2),
        readAt: t(2),
      });
      expect(await row(sent[1]!.id)).toMatchObject({ status: "delivered", deliveredAt: t(3), readAt: null });
      expect(await row(sent[2]!.id)).toMatchObject({ status: "read", deliveredAt: t(0), readAt: t(0) });
      const events = notifier.events.flatMap((e) => (e.kind === "message:status" ? [e.status] : []));
      expect(events.map((e) => [e.message_id, e.status, e.timestamp])).toEqual([
        [pending.message.id, "sent", t(1).toISOString()],
        [sent[0]!.id, "read", t(2).toISOString()],
        [sent[1]!.id, "delivered", t(3).toISOString()],
      ]);
    });

    test("a status that arrives before its message's channel id is stored is applied once the id is stored", async () => {
      const notifier = new RecordingNotifier();
      const inbound = new InboundService(handle.db, notifier);
      const early = await inbound.ingest({
        messages: [],
        statuses: [{ whatsappMessageId: "wamid.early", status: "delivered", at: new Date() }],
      });
      expect(early.ignoredStatuses).toBe(1);
      await Bun.sleep(50); // the re-check finds nothing yet
      expect(inbound.orphanCount).toBe(1);
      const row = await store("early bird");
      await advanceStatus(
        handle.db,
        { id: row.id },
        { status: "sent", at: new Date(), whatsappMessageId: "wamid.early" },
      );
      await inbound.replay("wamid.early");
      expect(inbound.orphanCount).toBe(0);
      const last = notifier.events.at(-1);
      expect(last?.kind === "message:status" && last.status).toMatchObject({
        message_id: row.id,
        status: "delivered",
      });
    });

    test("an item the database refuses is rolled back alone: its neighbours are stored and emitted, it is reported", async () => {
      const notifier = new RecordingNotifier();
      const rejected: unknown[] = [];
      const inbound = new InboundService(handle.db, notifier, (item) => rejected.push(item));
      const good = {
        phoneNumberId: "pn-1",
        whatsappMessageId: "wamid.atomic.1",
        from: "4933333",
        at: new Date(),
        messageType: "text" as const,
        content: { text: "fine" },
      };
      // An enum value the database refuses makes the second insert fail.
      const bad = { ...good, whatsappMessageId: "wamid.atomic.2", messageType: "sticker" as "text" };
      const third = { ...good, whatsappMessageId: "wamid.atomic.3" };
      const result = await inbound.ingest({ messages: [good, bad, third], statuses: [] });
      expect(result).toMatchObject({ storedMessages: 2, duplicateMessages: 0 });
      expect(rejected).toEqual([
        {
          kind: "message",
          where: "messages[1]",
          reason: "storage_error",
          whatsappMessageId: "wamid.atomic.2",
        },
      ]);
      expect(notifier.events.map((e) => e.kind)).toEqual([
        "message:new",
        "conversation:updated",
        "message:new",
        "conversation:updated",
      ]);
      const again = await inbound.ingest({ messages: [good, third], statuses: [] });
      expect(again).toMatchObject({ storedMessages: 0, duplicateMessages: 2 });
    });

    test("seeding happens once, only on an empty database", async () => {
      // This database already has an organization.
      expect(await seedIfEmpty(handle.db, { whatsappPhoneNumberId: "x" })).toBeNull();
    });
  });
}
