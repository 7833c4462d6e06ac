/**
 * Input that PostgreSQL or Date cannot hold is set aside item by item (malformed webhook
 * timestamps) or cleaned (NUL in webhook strings), never a 500. Regressions of the reliability
 * suite's findings: a "1e20" webhook timestamp (Invalid Date) and U+0000 in text/jsonb.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { contacts, messages } from "../../db/schema.ts";
import { signPayload } from "../../src/http/webhooks/signature.ts";
import { parseWhatsappWebhook } from "../../src/http/webhooks/whatsapp-payload.ts";
import { MAX_DATE_MS } from "../../src/shared/ranges.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { type Harness, startHarness, TEST_APP_SECRET, TEST_PHONE_NUMBER_ID } from "./harness.ts";

const PATH = "/api/v1/webhooks/whatsapp";
const NUL = "\u0000";
const MESSAGE_0 = "entry[0].changes[0].value.messages[0]";
/** The last second the database takes (9999-12-31T23:59:59Z). */
const MAX_DATE_S = Math.floor(MAX_DATE_MS / 1000);

function payload(value: Record<string, unknown>, phoneNumberId = TEST_PHONE_NUMBER_ID) {
  return {
    object: "whatsapp_business_account",
    entry: [{ changes: [{ value: { metadata: { phone_number_id: phoneNumberId }, ...value } }] }],
  };
}
const text = (id: string, from: string, body: string, timestamp?: unknown) => ({
  id,
  from,
  ...(timestamp === undefined ? {} : { timestamp }),
  type: "text",
  text: { body },
});

/** The one item the parser set aside from `body` (and nothing was kept). */
function rejection(body: unknown) {
  const batch = parseWhatsappWebhook(body);
  expect(batch.messages).toHaveLength(0);
  expect(batch.statuses).toHaveLength(0);
  expect(batch.rejected).toHaveLength(1);
  return batch.rejected![0]!;
}

describe("WhatsApp webhook parser: timestamps", () => {
  test.each(["1e20", "NaN", "-1", "0", "", "  ", "12abc", String(MAX_DATE_S + 1), "8640000000000"])(
    "message timestamp %p sets the message aside with its place and reason",
    (timestamp) => {
      expect(rejection(payload({ messages: [text("wamid.t", "1555", "hi", timestamp)] }))).toEqual({
        kind: "message",
        where: MESSAGE_0,
        reason: "invalid_timestamp",
        whatsappMessageId: "wamid.t",
      });
    },
  );

  // Each case is wrapped in a tuple: a bare array case would be spread into the callback's arguments.
  test.each<[unknown]>([[{}], [[]], [true], [null], [1e20], [Number.NaN]])(
    "a non-numeric or huge timestamp %p is set aside",
    (ts) => {
      expect(rejection(payload({ messages: [text("wamid.t", "1555", "hi", ts)] }))).toMatchObject({
        where: MESSAGE_0,
        reason: "invalid_timestamp",
      });
    },
  );

  test("a status timestamp is checked the same way and named with its indexes; its neighbour is kept", () => {
    const batch = parseWhatsappWebhook(
      payload({
        statuses: [
          { id: "wamid.s0", status: "read", timestamp: "1700000000" },
          { id: "wamid.s1", status: "delivered", timestamp: "1e20" },
        ],
      }),
    );
    expect(batch.statuses.map((s) => s.whatsappMessageId)).toEqual(["wamid.s0"]);
    expect(batch.rejected).toEqual([
      {
        kind: "status",
        where: "entry[0].changes[0].value.statuses[1]",
        reason: "invalid_timestamp",
        whatsappMessageId: "wamid.s1",
      },
    ]);
  });

  test("valid timestamps (string, number, the storable range's last second) parse exactly; an absent one means now", () => {
    const before = Date.now();
    const batch = parseWhatsappWebhook(
      payload({
        messages: [
          text("wamid.a", "1555", "a", "1700000000"),
          text("wamid.b", "1555", "b", 1700000001),
          text("wamid.c", "1555", "c", String(MAX_DATE_S)),
          text("wamid.d", "1555", "d"),
        ],
      }),
    );
    const at = batch.messages.map((m) => m.at.getTime());
    expect(at.slice(0, 3)).toEqual([1_700_000_000_000, 1_700_000_001_000, MAX_DATE_S * 1000]);
    expect(at[3]).toBeGreaterThanOrEqual(before);
    expect(at[3]).toBeLessThanOrEqual(Date.now());
  });
});

describe("WhatsApp webhook parser: NUL is stripped from every stored string", () => {
  test("contact name, message text, media id and caption, failure code", () => {
    const batch = parseWhatsappWebhook(
      payload({
        contacts: [{ wa_id: `15${NUL}55`, profile: { name: `Al${NUL}ice` } }],
        messages: [
          text("wamid.n1", "1555", `a${NUL}b`, "1700000000"),
          {
            id: "wamid.n2",
            from: "1555",
            timestamp: "1700000000",
            type: "image",
            image: { id: `media${NUL}1`, caption: `cap${NUL}tion` },
          },
        ],
        statuses: [
          {
            id: "wamid.out",
            status: "failed",
            timestamp: "1700000000",
            errors: [{ code: `13${NUL}1`, title: `bad${NUL}` }],
          },
        ],
      }),
    );
    expect(batch.messages[0]).toMatchObject({ contactName: "Alice", content: { text: "ab" } });
    expect(batch.messages[1]).toMatchObject({
      contactName: "Alice",
      content: { url: "whatsapp-media:media1", caption: "caption" },
    });
    expect(batch.statuses[0]).toMatchObject({ errorCode: "131", errorMessage: "bad" });
    expect(JSON.stringify(batch)).not.toContain("\\u0000");
  });

  test("a name that is nothing but NUL is no name", () => {
    const batch = parseWhatsappWebhook(
      payload({
        contacts: [{ wa_id: "1555", profile: { name: NUL } }],
        messages: [text("wamid.n3", "1555", "hi", "1700000000")],
      }),
    );
    expect(batch.messages[0]?.contactName).toBeUndefined();
  });
});

for (const backend of await backends()) {
  describe(`input hygiene end to end on ${backend.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness(backend);
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => h?.close(), SETUP_TIMEOUT_MS);

    const webhook = (body: unknown) => {
      const raw = JSON.stringify(body);
      return h.api(PATH, {
        method: "POST",
        body: raw,
        headers: {
          "content-type": "application/json",
          "x-hub-signature-256": signPayload(TEST_APP_SECRET, raw),
        },
      });
    };
    const storedMessage = async (whatsappId: string) =>
      (
        await h.server.ctx.database.db
          .select()
          .from(messages)
          .where(eq(messages.whatsappMessageId, whatsappId))
      )[0];

    test("a webhook with a timestamp beyond the Date range stores its valid neighbour and answers 200", async () => {
      const good = text("wamid.hyg.ok", "15550009001", "fine", "1700000000");
      const bad = text("wamid.hyg.big", "15550009001", "hi", "1e20");
      const res = await webhook(payload({ messages: [bad, good] }));
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ stored_messages: 1, rejected_items: 1 });
      expect(await storedMessage("wamid.hyg.ok")).toBeDefined();
      expect(await storedMessage("wamid.hyg.big")).toBeUndefined();
    });

    test("a webhook with NUL in the contact name and the text is stored without it", async () => {
      const from = "15550009002";
      const res = await webhook(
        payload({
          contacts: [{ wa_id: from, profile: { name: `Bo${NUL}b` } }],
          messages: [text("wamid.hyg.nul", from, `he${NUL}llo`, "1700000000")],
        }),
      );
      expect(res.status).toBe(200);
      expect((await storedMessage("wamid.hyg.nul"))?.content).toEqual({ text: "hello" });
      const [contact] = await h.server.ctx.database.db
        .select()
        .from(contacts)
        .where(eq(contacts.whatsappId, from));
      expect(contact?.name).toBe("Bob");
    });
  });
}
