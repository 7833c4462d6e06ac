/**
 * A batched UPDATE of messages (the outbox's "sent" commits, the webhook's grouped statuses) finds
 * its rows by index, not by scanning the table: PostgreSQL guesses 100 rows for the batch's values
 * and, with a few thousand messages and a hash join, read them all on every batch. The plans are
 * read with EXPLAIN (nothing is changed) after ANALYZE on 10,000 messages.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import type { DatabaseHandle } from "../../db/client.ts";
import { rowsOf } from "../../db/raw-rows.ts";
import { batchedMatchSql } from "../../src/services/messages.ts";
import { type BackendInstance, backends, SETUP_TIMEOUT_MS } from "./backends.ts";
import { createConversation } from "./conversation-fixture.ts";

for (const backend of await backends()) {
  describe(`batched message updates on ${backend.name}`, () => {
    let instance: BackendInstance;
    let handle: DatabaseHandle;

    beforeAll(async () => {
      instance = await backend.create();
      handle = await instance.open();
      const { orgId, conversationId } = await createConversation(handle.db);
      await handle.db.execute(sql`
        INSERT INTO messages (conversation_id, organization_id, seq, direction, sender_type, content,
                              status, whatsapp_message_id)
        SELECT ${conversationId}::uuid, ${orgId}::uuid, g, 'outbound', 'agent', '{}'::jsonb,
               'read', 'wamid.plan.' || g
          FROM generate_series(1, 10000) AS g`);
      await handle.db.execute(sql`ANALYZE messages`);
    }, SETUP_TIMEOUT_MS);

    afterAll(async () => {
      await handle?.close();
      await instance?.dispose();
    });

    const plan = async (column: "id" | "whatsapp_message_id", key: string) => {
      const values = JSON.stringify([{ [key]: key === "message_id" ? crypto.randomUUID() : "wamid.plan.7" }]);
      const result = await handle.db.execute(sql`
        EXPLAIN WITH v AS (
          SELECT * FROM jsonb_to_recordset(${values}::jsonb) AS v(${sql.raw(key)} ${sql.raw(column === "id" ? "uuid" : "text")})
        )
        UPDATE messages AS m SET status = 'sent' FROM v
         WHERE ${batchedMatchSql(column, key)} AND m.status IN ('pending')
        RETURNING m.id`);
      return rowsOf<{ "QUERY PLAN": string }>(result)
        .map((r) => r["QUERY PLAN"])
        .join("\n");
    };

    test("matched by id (the outbox's sent commits), the rows are looked up by index", async () => {
      const text = await plan("id", "message_id");
      expect(text).not.toContain("Seq Scan on messages");
      expect(text).toContain("messages_pkey");
    });

    test("matched by channel id (grouped status reports), the rows are looked up by index", async () => {
      const text = await plan("whatsapp_message_id", "wamid");
      expect(text).not.toContain("Seq Scan on messages");
      expect(text).toContain("messages_whatsapp_message_id_unique");
    });
  });
}
