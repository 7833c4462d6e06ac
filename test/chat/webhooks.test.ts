/**
 * The WhatsApp webhook end to end: verification, signatures, inbound messages, statuses (forward
 * only, coalesced), idempotent retries and batches stored in one transaction, with the events a
 * watching socket receives.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { count, eq } from "drizzle-orm";
import { messages } from "../../db/schema.ts";
import { signPayload } from "../../src/http/webhooks/signature.ts";
import type { MessagesPage, SendMessageResponse } from "../../src/shared/api.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { collect, type Harness, next, sleep, startHarness, TEST_VERIFY_TOKEN, WAIT_MS } from "./harness.ts";
import {
  postWebhook,
  WEBHOOK_PATH,
  webhookPayload,
  webhookTextMessage,
  webhookTimestamp,
} from "./webhook-payloads.ts";

const PATH = WEBHOOK_PATH;
const ts = webhookTimestamp;
const payload = webhookPayload;
const textMessage = webhookTextMessage;
const status = (id: string, s: string, offsetS = 0) => ({
  id,
  status: s,
  timestamp: ts(offsetS),
  recipient_id: "1",
});

for (const backend of await backends()) {
  describe(`WhatsApp webhook on ${backend.name}`, () => {
    let h: Harness;
    // Sandbox reports are slowed down so they never race the webhook's own statuses here.
    beforeAll(async () => {
      h = await startHarness(backend, { SANDBOX_STEP_MS: "60000" });
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => h?.close(), SETUP_TIMEOUT_MS);

    const send = (body: unknown, signature?: string | null) => postWebhook(h, body, signature);
    const stored = async (whatsappId: string) =>
      (
        await h.server.ctx.database.db
          .select({ n: count() })
          .from(messages)
          .where(eq(messages.whatsappMessageId, whatsappId))
      )[0]!.n;

    test("GET verification echoes hub.challenge for the right verify token, 403 otherwise", async () => {
      const ok = await h.api(
        `${PATH}?hub.mode=subscribe&hub.verify_token=${TEST_VERIFY_TOKEN}&hub.challenge=12345`,
      );
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe("12345");
      const bad = await h.api(`${PATH}?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=12345`);
      expect(bad.status).toBe(403);
      const noMode = await h.api(`${PATH}?hub.verify_token=${TEST_VERIFY_TOKEN}&hub.challenge=1`);
      expect(noMode.status).toBe(400);
    });

    test("an unsigned or badly signed POST is 401 and stores nothing", async () => {
      const body = payload({ messages: [textMessage("wamid.unsigned", h.fx.contactWhatsappId, "hi")] });
      expect((await send(body, null)).status).toBe(401);
      expect((await send(body, "sha256=deadbeef")).status).toBe(401);
      expect((await send(body, signPayload("wrong-secret", JSON.stringify(body)))).status).toBe(401);
      expect(await stored("wamid.unsigned")).toBe(0);
    });

    test("a body over WEBHOOK_BODY_LIMIT is 413; a payload for an unknown business number stores nothing", async () => {
      const huge = payload({
        messages: [textMessage("wamid.huge", h.fx.contactWhatsappId, "x".repeat(1_100_000))],
      });
      expect((await send(huge)).status).toBe(413);
      expect(await stored("wamid.huge")).toBe(0);
      const foreign = payload({ messages: [textMessage("wamid.foreign", h.fx.contactWhatsappId, "hi")] });
      foreign.entry[0]!.changes[0]!.value.metadata.phone_number_id = "someone-else";
      const res = await send(foreign);
      expect(res.status).toBe(200);
      expect(await stored("wamid.foreign")).toBe(0);
    });

    test("an inbound message lands in the contact's conversation and reaches the room as message:new", async () => {
      const socket = await h.connect(await h.token(h.fx.admin));
      const id = h.fx.convAssigned.id;
      await socket.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id });
      const arrived = next(socket, "message:new");
      const res = await send(
        payload({ messages: [textMessage("wamid.in.1", h.fx.contactWhatsappId, "hello there")] }),
      );
      expect(res.status).toBe(200);
      const m = await arrived;
      expect(m).toMatchObject({
        conversation_id: id,
        direction: "inbound",
        sender_type: "contact",
        whatsapp_message_id: "wamid.in.1",
        content: { text: "hello there" },
      });
      socket.disconnect();
    });

    test("a retried webhook stores and emits nothing new", async () => {
      const socket = await h.connect(await h.token(h.fx.admin));
      await socket
        .timeout(WAIT_MS)
        .emitWithAck("join_conversation", { conversation_id: h.fx.convAssigned.id });
      const seen = collect(socket, "message:new");
      const body = payload({ messages: [textMessage("wamid.retry", h.fx.contactWhatsappId, "once")] });
      expect((await send(body)).status).toBe(200);
      const retry = await send(body);
      expect(await retry.json()).toMatchObject({ stored_messages: 0, duplicate_messages: 1 });
      await sleep(150);
      expect(seen.filter((m) => m.whatsapp_message_id === "wamid.retry")).toHaveLength(1);
      expect(await stored("wamid.retry")).toBe(1);
      socket.disconnect();
    });

    test("a message from a new number creates the contact and a queued conversation", async () => {
      const res = await send(
        payload({
          contacts: [{ wa_id: "4915799999", profile: { name: "Newcomer" } }],
          messages: [textMessage("wamid.new.1", "4915799999", "first contact")],
        }),
      );
      expect(await res.json()).toMatchObject({ stored_messages: 1 });
      const list = (await (
        await h.api("/api/v1/conversations?status=queued", { token: await h.token(h.fx.admin) })
      ).json()) as {
        data: { contact: { name: string; whatsapp_id: string }; last_seq: number }[];
      };
      const created = list.data.find((c) => c.contact.whatsapp_id === "4915799999");
      expect(created?.contact.name).toBe("Newcomer");
      expect(created?.last_seq).toBe(1);
    });

    test("text with NUL bytes (refused by PostgreSQL jsonb) is stored without them", async () => {
      const res = await send(
        payload({ messages: [textMessage("wamid.nul", h.fx.contactWhatsappId, "a\u0000b")] }),
      );
      expect(res.status).toBe(200);
      expect(await stored("wamid.nul")).toBe(1);
    });

    test("statuses move forward only: out-of-order and repeated reports are ignored", async () => {
      const admin = await h.token(h.fx.admin);
      const id = h.fx.convQueue.id;
      const socket = await h.connect(admin);
      await socket.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id });
      const statuses = collect(socket, "message:status");
      // Listening before the POST: the "sent" tick may arrive before the POST's answer.
      const sent = next(socket, "message:status", WAIT_MS, (s) => s.status === "sent");
      const { message } = (await (
        await h.api(`/api/v1/conversations/${id}/messages`, {
          method: "POST",
          token: admin,
          body: JSON.stringify({ content: { text: "tick" } }),
        })
      ).json()) as SendMessageResponse;
      expect((await sent).message_id).toBe(message.id);
      const page = (await (
        await h.api(`/api/v1/conversations/${id}/messages?limit=1`, { token: admin })
      ).json()) as MessagesPage;
      const wamid = page.data[0]!.whatsapp_message_id!;
      expect(wamid).toStartWith("wamid.");

      await send(payload({ statuses: [status(wamid, "read", 2)] }));
      await send(payload({ statuses: [status(wamid, "delivered", 1)] }));
      await send(payload({ statuses: [status(wamid, "read", 2)] }));
      await send(payload({ statuses: [status(wamid, "failed", 3)] }));
      await sleep(150);
      expect(statuses.filter((s) => s.message_id === message.id).map((s) => s.status)).toEqual([
        "sent",
        "read",
      ]);
      const after = (await (
        await h.api(`/api/v1/conversations/${id}/messages?limit=1`, { token: admin })
      ).json()) as MessagesPage;
      expect(after.data[0]).toMatchObject({ status: "read" });
      expect(after.data[0]!.delivered_at).not.toBeNull();
      socket.disconnect();
    });

    test("a batch is stored in one transaction; events follow in payload order; statuses of one message coalesce", async () => {
      const admin = await h.token(h.fx.admin);
      const id = h.fx.convAssigned.id;
      const socket = await h.connect(admin);
      await socket.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id });
      // Two outbound messages with channel ids, to receive statuses.
      const ids: string[] = [];
      for (const text of ["one", "two"]) {
        // Listening before the POST: the "sent" tick may arrive before the POST's answer.
        const sent = next(socket, "message:status", WAIT_MS, (s) => s.status === "sent");
        const { message } = (await (
          await h.api(`/api/v1/conversations/${id}/messages`, {
            method: "POST",
            token: admin,
            body: JSON.stringify({ content: { text } }),
          })
        ).json()) as SendMessageResponse;
        expect((await sent).message_id).toBe(message.id);
        ids.push(message.id);
      }
      const page = (await (
        await h.api(`/api/v1/conversations/${id}/messages?limit=2`, { token: admin })
      ).json()) as MessagesPage;
      const wamidOf = (mid: string) => page.data.find((m) => m.id === mid)!.whatsapp_message_id!;
      const order: string[] = [];
      socket.on("message:new", (m) => order.push(`new:${m.content.text}`));
      socket.on("message:status", (s) =>
        order.push(`status:${s.message_id === ids[0] ? "one" : "two"}:${s.status}`),
      );
      const res = await send(
        payload({
          messages: [
            textMessage("wamid.batch.1", h.fx.contactWhatsappId, "b1"),
            textMessage("wamid.batch.2", h.fx.contactWhatsappId, "b2"),
            textMessage("wamid.batch.3", h.fx.contactWhatsappId, "b3"),
          ],
          statuses: [
            status(wamidOf(ids[0]!), "delivered", 1),
            status(wamidOf(ids[0]!), "read", 2),
            status(wamidOf(ids[1]!), "delivered", 1),
          ],
        }),
      );
      expect(await res.json()).toMatchObject({ stored_messages: 3, applied_statuses: 2 });
      await sleep(150);
      expect(order).toEqual(["new:b1", "new:b2", "new:b3", "status:one:read", "status:two:delivered"]);
      socket.disconnect();
    });
  });
}
