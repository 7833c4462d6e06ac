/**
 * The one text rule (src/shared/text.ts) on every input path: REST bodies, webhook payloads and
 * socket payloads. A lone surrogate becomes U+FFFD, NUL and control characters disappear, lengths
 * are limited; nothing of it is a 500 (a lone surrogate in message text used to be one).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { Socket as UntypedSocket } from "socket.io-client";
import { contacts, messages } from "../../db/schema.ts";
import type { ApiError, SendMessageResponse } from "../../src/shared/api.ts";
import { cleanDeep, cleanText, TEXT_LIMITS, truncateText } from "../../src/shared/text.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { type Harness, startHarness, WAIT_MS } from "./harness.ts";
import { postWebhook, webhookPayload, webhookTextMessage, webhookTimestamp } from "./webhook-payloads.ts";

const LONE_HIGH = "\ud800";
const LONE_LOW = "\udc00";
const FFFD = "\ufffd";
const NUL = "\u0000";
const EMOJI = "👩\u200d💻"; // a surrogate pair, ZWJ, another pair: must survive untouched

describe("cleanText", () => {
  test("a lone high or low surrogate becomes U+FFFD; pairs are kept", () => {
    expect(cleanText(`a${LONE_HIGH}b`)).toBe(`a${FFFD}b`);
    expect(cleanText(`a${LONE_LOW}b`)).toBe(`a${FFFD}b`);
    expect(cleanText(`${LONE_LOW}${LONE_HIGH}`)).toBe(`${FFFD}${FFFD}`);
    expect(cleanText(`x${EMOJI}y`)).toBe(`x${EMOJI}y`);
    expect(cleanText(`end${LONE_HIGH}`)).toBe(`end${FFFD}`);
  });

  test("NUL, the other C0 controls, DEL and C1 controls are removed; TAB, LF and CR stay in multiline text", () => {
    expect(cleanText(`a${NUL}b`)).toBe("ab");
    expect(cleanText("a\u0001\u0007\u001b[31mb\u007f\u0085\u009fc")).toBe("a[31mbc");
    expect(cleanText("line 1\r\nline\t2")).toBe("line 1\r\nline\t2");
  });

  test("in a one-line field, TAB, LF and CR become spaces", () => {
    expect(cleanText("Maria\nda\tSilva\r", "line")).toBe("Maria da Silva ");
  });

  test("everything else is kept as sent: bidi marks, combining characters, non-Latin scripts", () => {
    const s = "\u200fשלום e\u0301 日本語 \u00a0nbsp";
    expect(cleanText(s)).toBe(s);
  });

  test("truncateText never ends in the first half of a surrogate pair", () => {
    expect(truncateText("abc", 5)).toBe("abc");
    expect(truncateText("abcdef", 3)).toBe("abc");
    expect(truncateText(`ab${EMOJI}`, 3)).toBe("ab");
    expect(truncateText(`ab${EMOJI}`, 4)).toBe(`ab${EMOJI.slice(0, 2)}`);
  });

  test("cleanDeep cleans every string and key of a payload, keeps other values, and stops at depth", () => {
    const bytes = new Uint8Array([0, 1]);
    const out = cleanDeep({
      [`k${NUL}`]: [`a${LONE_HIGH}`, 1, true, null, { b: `x${NUL}y` }],
      bytes,
    }) as Record<string, unknown>;
    expect(out).toEqual({ k: [`a${FFFD}`, 1, true, null, { b: "xy" }], bytes });
    expect(out.bytes).toBe(bytes);
    let deep: unknown = "leaf";
    for (let i = 0; i < 20; i++) deep = { d: deep };
    expect(JSON.stringify(cleanDeep(deep))).not.toContain("leaf");
    const proto = cleanDeep(JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.hasOwn(proto, "__proto__")).toBe(true);
  });
});

for (const backend of await backends()) {
  describe(`text normalization on every input path (${backend.name})`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness(backend);
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => h?.close(), SETUP_TIMEOUT_MS);

    const db = () => h.server.ctx.database.db;
    const post = async (body: unknown) =>
      h.api(`/api/v1/conversations/${h.fx.convAssigned.id}/messages`, {
        method: "POST",
        body: JSON.stringify(body),
        token: await h.token(h.fx.agent),
      });
    const storedContent = async (id: string) =>
      (await db().select().from(messages).where(eq(messages.id, id)))[0]?.content;
    const storedByWamid = async (wamid: string) =>
      (await db().select().from(messages).where(eq(messages.whatsappMessageId, wamid)))[0]?.content;

    test("REST: a lone surrogate in message text is stored as U+FFFD (it was a 500)", async () => {
      const res = await post({ content: { text: `a${LONE_HIGH}b` } });
      expect(res.status).toBe(201);
      const { message } = (await res.json()) as SendMessageResponse;
      expect(message.content.text).toBe(`a${FFFD}b`);
      expect(await storedContent(message.id)).toEqual({ text: `a${FFFD}b` });
    });

    test("REST: NUL and control characters are removed from every content string", async () => {
      const text = await post({ content: { text: `he${NUL}llo\u001b!\nbye` } });
      expect(((await text.json()) as SendMessageResponse).message.content.text).toBe("hello!\nbye");
      const image = await post({
        message_type: "image",
        content: { url: `https://x.test/a.png${LONE_LOW}`, caption: `c${NUL}ap${LONE_HIGH}` },
      });
      expect(image.status).toBe(201);
      const { message } = (await image.json()) as SendMessageResponse;
      expect(await storedContent(message.id)).toEqual({
        url: `https://x.test/a.png${FFFD}`,
        caption: `cap${FFFD}`,
      });
      const template = await post({
        message_type: "template",
        content: { template_name: `t${NUL}\npl`, language: "en\u0007", parameters: [`p${LONE_HIGH}`] },
      });
      expect(template.status).toBe(201);
      const sent = ((await template.json()) as SendMessageResponse).message;
      expect(await storedContent(sent.id)).toEqual({
        template_name: "t pl",
        language: "en",
        parameters: [`p${FFFD}`],
      });
    });

    test("REST: text that is empty once cleaned, or longer than its limit, is a 400 naming the field", async () => {
      const expect400 = async (res: Response, field: string) => {
        expect(res.status).toBe(400);
        expect(((await res.json()) as ApiError).error).toMatchObject({ code: "validation_error", field });
      };
      await expect400(await post({ content: { text: `${NUL}\u0001` } }), "content.text");
      await expect400(
        await post({ content: { text: "x".repeat(TEXT_LIMITS.messageText + 1) } }),
        "content.text",
      );
      await expect400(
        await post({
          message_type: "template",
          content: { template_name: "t", parameters: ["ok", "x".repeat(TEXT_LIMITS.templateParameter + 1)] },
        }),
        "content.parameters[1]",
      );
      // At the limit it is accepted; removed characters do not count.
      const atLimit = await post({ content: { text: `${"x".repeat(TEXT_LIMITS.messageText)}${NUL}` } });
      expect(atLimit.status).toBe(201);
    });

    test("webhook: text, contact name and caption are normalized; over-long text is cut, never refused", async () => {
      const from = "15550007001";
      const res = await postWebhook(
        h,
        webhookPayload({
          contacts: [{ wa_id: from, profile: { name: `Ma${NUL}ria\n${LONE_HIGH}` } }],
          messages: [
            webhookTextMessage("wamid.norm.text", from, `hi${LONE_LOW}${NUL}\u001b there`),
            {
              id: "wamid.norm.image",
              from,
              timestamp: webhookTimestamp(),
              type: "image",
              image: { id: "media-1", mime_type: "image/png", caption: `cap${LONE_HIGH}${NUL}` },
            },
            webhookTextMessage("wamid.norm.long", from, `${"y".repeat(TEXT_LIMITS.messageText - 1)}${EMOJI}`),
          ],
        }),
      );
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ stored_messages: 3, rejected_items: 0 });
      expect(await storedByWamid("wamid.norm.text")).toEqual({ text: `hi${FFFD} there` });
      // The media file itself is fetched by the outbox worker (test/media); its caption is cleaned here.
      expect(await storedByWamid("wamid.norm.image")).toEqual({
        media_id: expect.any(String),
        url: expect.stringMatching(/^\/api\/v1\/media\//),
        mime_type: "image/png",
        caption: `cap${FFFD}`,
      });
      // Cut at the limit without splitting the emoji's first surrogate pair.
      expect(await storedByWamid("wamid.norm.long")).toEqual({
        text: "y".repeat(TEXT_LIMITS.messageText - 1),
      });
      const [contact] = await db().select().from(contacts).where(eq(contacts.whatsappId, from));
      expect(contact?.name).toBe(`Maria ${FFFD}`);
    });

    test("socket: every payload string is normalized before a handler sees it", async () => {
      const socket = await h.connect(await h.token(h.fx.agent));
      const id = h.fx.convAssigned.id;
      // NUL removed: the id is the conversation's.
      const joined = await socket
        .timeout(WAIT_MS)
        .emitWithAck("join_conversation", { conversation_id: `${id}${NUL}` });
      expect(joined).toMatchObject({ ok: true, conversation_id: id });
      // A lone surrogate becomes U+FFFD: not a UUID, refused as a payload error, not an internal one.
      // typing_* take an optional ack on the wire; the typed contract does not declare it.
      const untyped = socket as unknown as UntypedSocket;
      const bad = await untyped
        .timeout(WAIT_MS)
        .emitWithAck("typing_start", { conversation_id: `${id.slice(0, -1)}${LONE_HIGH}` });
      expect(bad).toMatchObject({ ok: false, error: { code: "invalid_payload", field: "conversation_id" } });
      const refresh = await socket
        .timeout(WAIT_MS)
        .emitWithAck("auth:refresh", { token: `a${LONE_HIGH}.b.c` });
      expect(refresh.ok).toBe(false);
      expect(refresh).not.toMatchObject({ error: { code: "internal_error" } });
      // The socket is still fine.
      expect(await untyped.timeout(WAIT_MS).emitWithAck("typing_start", { conversation_id: id })).toEqual({
        ok: true,
      });
      socket.disconnect();
    });
  });
}
