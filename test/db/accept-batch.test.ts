/**
 * Group commit of accepted messages (src/services/accept-message.ts, group-commit.ts): messages of
 * one conversation arriving while its statement runs are stored together, with gap-free seqs in
 * arrival order, one send job each, and the idempotency key's guarantees unchanged; a batch that
 * fails is stored message by message so that only the bad message fails.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { asc, eq, inArray } from "drizzle-orm";
import type { DatabaseHandle } from "../../db/client.ts";
import { conversations, messages, outboxJobs, users } from "../../db/schema.ts";
import { type AcceptInput, acceptMessage } from "../../src/services/accept-message.ts";
import { backends, SETUP_TIMEOUT_MS } from "./backends.ts";
import { createConversation } from "./conversation-fixture.ts";

for (const backend of await backends()) {
  describe(`accepting messages in groups on ${backend.name}`, () => {
    let instance: Awaited<ReturnType<typeof backend.create>>;
    let handle: DatabaseHandle;
    let statements = 0;
    let orgId: string;
    let senderId: string;

    beforeAll(async () => {
      instance = await backend.create();
      // One connection: PostgreSQL prepares a statement once per connection, and postgres.js counts that too.
      handle = await instance.open({ onQuery: () => statements++, maxConnections: 1 });
      ({ orgId } = await createConversation(handle.db));
      const [user] = await handle.db
        .insert(users)
        .values({
          organizationId: orgId,
          email: "agent@group.test",
          name: "Agent",
          passwordHash: "x",
          role: "agent",
        })
        .returning();
      senderId = user!.id;
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => {
      await handle?.close();
      await instance?.dispose();
    }, SETUP_TIMEOUT_MS);

    const newConversation = async () => (await createConversation(handle.db, { orgId })).conversationId;

    const input = (conversationId: string, text: string, key?: string): AcceptInput => ({
      id: randomUUID(),
      conversationId,
      organizationId: orgId,
      senderId,
      messageType: "text",
      content: { text },
      idempotencyKey: key,
      at: new Date(),
      budgetMs: 60_000,
    });

    const stored = (conversationId: string) =>
      handle.db
        .select()
        .from(messages)
        .where(eq(messages.conversationId, conversationId))
        .orderBy(asc(messages.seq));

    test("concurrent messages get gap-free seqs in arrival order, a job each, in fewer statements", async () => {
      const conversationId = await newConversation();
      const count = 120;
      const inputs = Array.from({ length: count }, (_, i) =>
        input(conversationId, `m${i}`, i % 2 === 0 ? randomUUID() : undefined),
      );
      const before = statements;
      const results = await Promise.all(inputs.map((m) => acceptMessage(handle.db, m)));
      const used = statements - before;

      // Each caller learns its own seq; seqs follow submission order, from 1, without a gap.
      expect(results.map((r) => r?.lastSeq)).toEqual(inputs.map((_, i) => i + 1));
      const rows = await stored(conversationId);
      expect(rows.map((r) => r.id)).toEqual(inputs.map((m) => m.id));
      expect(rows.map((r) => r.content.text)).toEqual(inputs.map((_, i) => `m${i}`));
      expect(rows.every((r) => r.status === "pending" && r.direction === "outbound")).toBe(true);
      const [conv] = await handle.db.select().from(conversations).where(eq(conversations.id, conversationId));
      expect(conv!.lastSeq).toBe(count);
      const jobs = await handle.db
        .select()
        .from(outboxJobs)
        .where(
          inArray(
            outboxJobs.refId,
            inputs.map((m) => m.id),
          ),
        );
      expect(jobs).toHaveLength(count);
      expect(jobs.every((j) => j.state === "queued" && j.kind === "send_message")).toBe(true);
      // The first goes alone, the rest wait for it and go together: far fewer statements than messages.
      expect(used).toBeLessThanOrEqual(count / 4);
    });

    test("a repeated key in one burst stores one message; every caller of the key learns nothing new", async () => {
      const conversationId = await newConversation();
      const key = randomUUID();
      const inputs = [
        input(conversationId, "a"),
        input(conversationId, "keyed", key),
        input(conversationId, "b"),
        input(conversationId, "keyed again", key),
        input(conversationId, "c"),
        input(conversationId, "keyed a third time", key),
      ];
      const before = statements;
      const results = await Promise.all(inputs.map((m) => acceptMessage(handle.db, m)));
      // "a" alone, then the batch without the repeats, then each repeat in a batch of its own: no
      // batch fails on a key it holds twice (which would cost a failed statement and one per message).
      expect(statements - before).toBe(4);
      // The first keyed message is stored; its repeats store nothing (the caller reads the earlier one).
      expect(results[1]).not.toBeNull();
      expect(results[3]).toBeNull();
      expect(results[5]).toBeNull();
      const rows = await stored(conversationId);
      expect(rows.map((r) => r.content.text).sort()).toEqual(["a", "b", "c", "keyed"]);
      expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    });

    test("a batch with a message that cannot be stored stores every other one, and fails that one alone", async () => {
      const conversationId = await newConversation();
      const first = input(conversationId, "first");
      await acceptMessage(handle.db, first);
      // The same message id again (as a retried request that did commit would be) violates the key.
      const inputs = [
        input(conversationId, "x"),
        input(conversationId, "y"),
        { ...input(conversationId, "dup"), id: first.id },
        input(conversationId, "z"),
      ];
      const settled = await Promise.allSettled(inputs.map((m) => acceptMessage(handle.db, m)));
      expect(settled.map((s) => s.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
      const rows = await stored(conversationId);
      expect(rows.map((r) => r.content.text)).toEqual(["first", "x", "y", "z"]);
      expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    });

    test("messages to different conversations are not held back by each other", async () => {
      const [a, b] = [await newConversation(), await newConversation()];
      const inputs = Array.from({ length: 20 }, (_, i) => input(i % 2 ? a : b, `m${i}`));
      const results = await Promise.all(inputs.map((m) => acceptMessage(handle.db, m)));
      expect(results.filter((_, i) => i % 2).map((r) => r?.lastSeq)).toEqual(
        Array.from({ length: 10 }, (_, i) => i + 1),
      );
      expect((await stored(a)).map((r) => r.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      expect((await stored(b)).map((r) => r.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    });

    test("a message to a conversation that does not exist stores nothing and claims no key", async () => {
      const missing = randomUUID();
      const results = await Promise.all([
        acceptMessage(handle.db, input(missing, "1", randomUUID())),
        acceptMessage(handle.db, input(missing, "2")),
        acceptMessage(handle.db, input(missing, "3", randomUUID())),
      ]);
      expect(results).toEqual([null, null, null]);
      expect(await stored(missing)).toHaveLength(0);
    });
  });
}
