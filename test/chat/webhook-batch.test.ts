/**
 * Webhook batch isolation: every valid message and status of a signed batch is stored even when
 * other items are malformed or refused by the database; the webhook answers 200 (the provider must
 * not retry valid work for ever); the bad items are counted on /metrics by kind and reason and
 * never logged with their text; idempotency by provider message id holds across retries.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { count, eq, sql } from "drizzle-orm";
import postgres from "postgres";
import { messages } from "../../db/schema.ts";
import { parseWhatsappWebhook } from "../../src/http/webhooks/whatsapp-payload.ts";
import { insertMessage } from "../../src/services/messages.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { TEST_POSTGRES_URL } from "../support/services.ts";
import { type Harness, startHarness } from "./harness.ts";
import { postWebhook, webhookPayload, webhookTextMessage, webhookTimestamp } from "./webhook-payloads.ts";

const SECRET_TEXT = "my card number is 4111";
/** The text the test trigger refuses; it must never reach a log line. */
const POISON_TEXT = "poison: my IBAN is DE89 3704";

/** Warnings reach stderr unless the test process runs with LOG_LEVEL=error or silent. */
const WARNINGS_SHOWN = !["error", "silent"].includes((process.env.LOG_LEVEL ?? "info").toLowerCase());

/** Runs `fn` while recording what the process writes to stderr (where warnings go). */
async function capturingStderr<T>(fn: () => Promise<T>): Promise<{ result: T; logged: string }> {
  const original = process.stderr.write;
  let logged = "";
  process.stderr.write = ((chunk: string | Uint8Array) => {
    logged += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { result: await fn(), logged };
  } finally {
    process.stderr.write = original;
  }
}

describe("webhook parser: one malformed item never hides its neighbours", () => {
  test("each malformed item is set aside with its place and reason, without its text", () => {
    const batch = parseWhatsappWebhook({
      object: "whatsapp_business_account",
      entry: [
        "not an entry",
        {
          changes: [
            { value: 42 },
            {
              value: {
                metadata: { phone_number_id: "pn" },
                messages: [
                  webhookTextMessage("wamid.ok.1", "1555", "first"),
                  "not a message",
                  { from: "1555", type: "text", text: { body: SECRET_TEXT } },
                  { id: "wamid.nofrom", type: "text", text: { body: SECRET_TEXT } },
                  { ...webhookTextMessage("wamid.badts", "1555", SECRET_TEXT), timestamp: "1e20" },
                  { ...webhookTextMessage("wamid.longid", "1555", SECRET_TEXT), id: "w".repeat(257) },
                  webhookTextMessage("wamid.ok.2", "1555", "second"),
                ],
                statuses: [
                  { id: "wamid.s.ok", status: "read", timestamp: webhookTimestamp() },
                  { id: "wamid.s.odd", status: "exploded", timestamp: webhookTimestamp() },
                  { status: "read" },
                ],
              },
            },
          ],
        },
        { changes: [{ value: { messages: [webhookTextMessage("wamid.nophone", "1555", SECRET_TEXT)] } }] },
      ],
    });
    expect(batch.messages.map((m) => m.whatsappMessageId)).toEqual(["wamid.ok.1", "wamid.ok.2"]);
    expect(batch.statuses.map((s) => s.whatsappMessageId)).toEqual(["wamid.s.ok"]);
    const v = "entry[1].changes[1].value";
    expect(batch.rejected).toEqual([
      { kind: "change", where: "entry[0]", reason: "not_an_object" },
      { kind: "change", where: "entry[1].changes[0].value", reason: "not_an_object" },
      { kind: "message", where: `${v}.messages[1]`, reason: "not_an_object" },
      { kind: "message", where: `${v}.messages[2]`, reason: "missing_id" },
      {
        kind: "message",
        where: `${v}.messages[3]`,
        reason: "missing_from",
        whatsappMessageId: "wamid.nofrom",
      },
      {
        kind: "message",
        where: `${v}.messages[4]`,
        reason: "invalid_timestamp",
        whatsappMessageId: "wamid.badts",
      },
      { kind: "message", where: `${v}.messages[5]`, reason: "missing_id" },
      {
        kind: "status",
        where: `${v}.statuses[1]`,
        reason: "unsupported_status",
        whatsappMessageId: "wamid.s.odd",
      },
      { kind: "status", where: `${v}.statuses[2]`, reason: "missing_id" },
      {
        kind: "message",
        where: "entry[2].changes[0].value.messages[0]",
        reason: "missing_phone_number_id",
        whatsappMessageId: "wamid.nophone",
      },
    ]);
    expect(JSON.stringify(batch.rejected)).not.toContain(SECRET_TEXT);
  });
});

for (const backend of await backends()) {
  describe(`webhook batch isolation on ${backend.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness(backend, { SANDBOX_STEP_MS: "60000" });
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => h?.close(), SETUP_TIMEOUT_MS);

    const db = () => h.server.ctx.database.db;
    const stored = async (wamid: string) =>
      (await db().select({ n: count() }).from(messages).where(eq(messages.whatsappMessageId, wamid)))[0]!.n;
    const statusOf = async (wamid: string) =>
      (await db().select().from(messages).where(eq(messages.whatsappMessageId, wamid)))[0]?.status;
    const rejectedCount = async (kind: string, reason: string) => {
      const text = await (await h.api("/metrics")).text();
      const line = text
        .split("\n")
        .find((l) =>
          l.startsWith(`switchboard_inbound_rejected_items_total{kind="${kind}",reason="${reason}"}`),
        );
      return line ? Number(line.split(" ").pop()) : 0;
    };
    /** A database refusal of one item: a trigger raising on a marked text (INSERT) or wamid (UPDATE). */
    const installPoison = async () => {
      await db().execute(
        sql.raw(`CREATE OR REPLACE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            IF NEW.content->>'text' = '${POISON_TEXT}' OR NEW.whatsapp_message_id = 'wamid.out.poison' THEN
              RAISE EXCEPTION 'refused by the test trigger';
            END IF;
            RETURN NEW;
          END $$`),
      );
      await db().execute(
        sql.raw(
          "CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON messages FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
        ),
      );
    };
    const removePoison = () => db().execute(sql.raw("DROP TRIGGER refuse_poison ON messages"));

    test("malformed items are counted on /metrics; the valid message and status beside them are stored; 200", async () => {
      const outbound = await insertMessage(db(), {
        conversationId: h.fx.convAssigned.id,
        organizationId: h.fx.orgA,
        direction: "outbound",
        senderType: "agent",
        messageType: "text",
        content: { text: "out" },
        status: "sent",
        whatsappMessageId: "wamid.out.ok",
      });
      const before = await rejectedCount("message", "invalid_timestamp");
      const { result: res, logged } = await capturingStderr(() =>
        postWebhook(
          h,
          webhookPayload({
            messages: [
              {
                ...webhookTextMessage("wamid.iso.bad", h.fx.contactWhatsappId, SECRET_TEXT),
                timestamp: "1e20",
              },
              webhookTextMessage("wamid.iso.good", h.fx.contactWhatsappId, "valid"),
              { type: "text" },
            ],
            statuses: [
              { id: "wamid.out.ok", status: "delivered", timestamp: webhookTimestamp() },
              { id: "wamid.out.ok", status: "sideways", timestamp: webhookTimestamp() },
            ],
          }),
        ),
      );
      if (WARNINGS_SHOWN) expect(logged).toContain("invalid_timestamp");
      expect(logged).not.toContain(SECRET_TEXT);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ stored_messages: 1, applied_statuses: 1, rejected_items: 3 });
      expect(await stored("wamid.iso.good")).toBe(1);
      expect(await stored("wamid.iso.bad")).toBe(0);
      expect(await statusOf(outbound.message.whatsappMessageId!)).toBe("delivered");
      expect(await rejectedCount("message", "invalid_timestamp")).toBe(before + 1);
      expect(await rejectedCount("message", "missing_id")).toBeGreaterThanOrEqual(1);
      expect(await rejectedCount("status", "unsupported_status")).toBeGreaterThanOrEqual(1);
    });

    test.skipIf(backend.name !== "postgres")(
      "an unreachable database is a 503 (the provider retries), never a 200 with every item set aside",
      async () => {
        const dbName = new URL(h.server.ctx.config.databaseUrl!).pathname.slice(1);
        const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
        // Statuses only: each is its own statement, so the per-item isolation meets the outage first.
        const body = webhookPayload({
          statuses: [
            { id: "wamid.out.ok", status: "read", timestamp: webhookTimestamp() },
            { id: "wamid.out.fine", status: "read", timestamp: webhookTimestamp() },
          ],
        });
        const before = await rejectedCount("status", "storage_error");
        try {
          await admin.unsafe(`ALTER DATABASE "${dbName}" WITH ALLOW_CONNECTIONS false`);
          await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${dbName} AND pid <> pg_backend_pid()`;
          const res = await postWebhook(h, body);
          expect(res.status).toBe(503);
          expect(res.headers.get("retry-after")).toBe("1");
        } finally {
          await admin.unsafe(`ALTER DATABASE "${dbName}" WITH ALLOW_CONNECTIONS true`);
          await admin.end({ timeout: 2 });
        }
        expect(await rejectedCount("status", "storage_error")).toBe(before);
      },
    );

    test("a message for a business number no organization has is not stored, and counted", async () => {
      const body = webhookPayload({ messages: [webhookTextMessage("wamid.unrouted", "15550006666", "hi")] });
      body.entry[0]!.changes[0]!.value.metadata.phone_number_id = "nobody-has-this-number";
      const before = await rejectedCount("message", "unknown_phone_number_id");
      const res = await postWebhook(h, body);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ stored_messages: 0, rejected_items: 1 });
      expect(await stored("wamid.unrouted")).toBe(0);
      expect(await rejectedCount("message", "unknown_phone_number_id")).toBe(before + 1);
    });

    test("an item the database refuses is rolled back alone: the others of the batch are stored; a retry stays idempotent", async () => {
      await insertMessage(db(), {
        conversationId: h.fx.convAssigned.id,
        organizationId: h.fx.orgA,
        direction: "outbound",
        senderType: "agent",
        messageType: "text",
        content: { text: "out" },
        status: "sent",
        whatsappMessageId: "wamid.out.poison",
      });
      await insertMessage(db(), {
        conversationId: h.fx.convAssigned.id,
        organizationId: h.fx.orgA,
        direction: "outbound",
        senderType: "agent",
        messageType: "text",
        content: { text: "out" },
        status: "sent",
        whatsappMessageId: "wamid.out.fine",
      });
      await installPoison();
      try {
        const before = await rejectedCount("message", "storage_error");
        const body = webhookPayload({
          messages: [
            webhookTextMessage("wamid.db.1", h.fx.contactWhatsappId, "before"),
            webhookTextMessage("wamid.db.poison", h.fx.contactWhatsappId, POISON_TEXT),
            webhookTextMessage("wamid.db.2", "15550008888", "after, from a new contact"),
          ],
          statuses: [
            { id: "wamid.out.poison", status: "read", timestamp: webhookTimestamp() },
            { id: "wamid.out.fine", status: "read", timestamp: webhookTimestamp() },
          ],
        });
        const res = await postWebhook(h, body);
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({
          stored_messages: 2,
          applied_statuses: 1,
          rejected_items: 2,
        });
        expect(await stored("wamid.db.1")).toBe(1);
        expect(await stored("wamid.db.2")).toBe(1);
        expect(await stored("wamid.db.poison")).toBe(0);
        expect(await statusOf("wamid.out.fine")).toBe("read");
        expect(await statusOf("wamid.out.poison")).toBe("sent");
        expect(await rejectedCount("message", "storage_error")).toBe(before + 1);
        expect(await rejectedCount("status", "storage_error")).toBeGreaterThanOrEqual(1);

        // The provider retries (or a later batch repeats): nothing is stored twice.
        const again = await postWebhook(h, body);
        expect(await again.json()).toMatchObject({ stored_messages: 0, duplicate_messages: 2 });
        expect(await stored("wamid.db.1")).toBe(1);

        // A batch of statuses only (no transaction) isolates its items the same way.
        const statusesOnly = await postWebhook(
          h,
          webhookPayload({
            statuses: [
              { id: "wamid.out.poison", status: "read", timestamp: webhookTimestamp() },
              { id: "wamid.out.ok", status: "read", timestamp: webhookTimestamp() },
            ],
          }),
        );
        expect(await statusesOnly.json()).toMatchObject({ applied_statuses: 1, rejected_items: 1 });
        expect(await statusOf("wamid.out.ok")).toBe("read");
      } finally {
        await removePoison();
      }
      // Once the database takes it, the same message is stored by a retry.
      const healed = await postWebhook(
        h,
        webhookPayload({
          messages: [webhookTextMessage("wamid.db.poison", h.fx.contactWhatsappId, "poison")],
        }),
      );
      expect(await healed.json()).toMatchObject({ stored_messages: 1 });
      expect(await stored("wamid.db.poison")).toBe(1);
    });
  });
}
