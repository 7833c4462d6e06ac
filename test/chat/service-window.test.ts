/**
 * WhatsApp's 24-hour customer-service window: tracked per conversation from the contact's last
 * inbound message, exposed as `service_window_expires_at`, and enforced before storing a message:
 * free-form outside it is a 409 `outside_service_window`, templates always pass. The clock is moved
 * by writing `last_inbound_at` directly.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { conversations, messages } from "../../db/schema.ts";
import { loadConfig } from "../../src/config.ts";
import { insertMessage } from "../../src/services/messages.ts";
import { SERVICE_WINDOW_MS } from "../../src/services/service-window.ts";
import type { ApiError, Conversation, ConversationListPage } from "../../src/shared/api.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { type Harness, next, startHarness, WAIT_MS } from "./harness.ts";
import { postWebhook, webhookPayload, webhookTextMessage } from "./webhook-payloads.ts";

const MINUTE = 60_000;

describe("SERVICE_WINDOW_ENFORCED", () => {
  test("defaults to on with CHANNEL=whatsapp, off with the sandbox; either can be set", () => {
    const base = { NODE_ENV: "test", JWT_SECRET: "x".repeat(32) };
    expect(loadConfig(base).serviceWindowEnforced).toBe(false);
    expect(
      loadConfig({ ...base, CHANNEL: "whatsapp", WHATSAPP_ACCESS_TOKEN: "t" }).serviceWindowEnforced,
    ).toBe(true);
    expect(loadConfig({ ...base, SERVICE_WINDOW_ENFORCED: "true" }).serviceWindowEnforced).toBe(true);
    expect(
      loadConfig({ ...base, CHANNEL: "whatsapp", WHATSAPP_ACCESS_TOKEN: "t", SERVICE_WINDOW_ENFORCED: "0" })
        .serviceWindowEnforced,
    ).toBe(false);
  });
});

for (const backend of await backends()) {
  describe(`service window on ${backend.name}`, () => {
    let h: Harness;
    let token: string;
    beforeAll(async () => {
      h = await startHarness(backend, { SERVICE_WINDOW_ENFORCED: "true", SANDBOX_STEP_MS: "60000" });
      token = await h.token(h.fx.admin);
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => h?.close(), SETUP_TIMEOUT_MS);

    const db = () => h.server.ctx.database.db;
    const send = (conversationId: string, body: unknown) =>
      h.api(`/api/v1/conversations/${conversationId}/messages`, {
        method: "POST",
        body: JSON.stringify(body),
        token,
      });
    const text = { content: { text: "hello" } };
    const template = { message_type: "template", content: { template_name: "follow_up", language: "en" } };
    const setLastInbound = (conversationId: string, at: Date | null) =>
      db().update(conversations).set({ lastInboundAt: at }).where(eq(conversations.id, conversationId));
    const listed = async (conversationId: string): Promise<Conversation | undefined> => {
      const page = (await (
        await h.api("/api/v1/conversations?limit=100", { token })
      ).json()) as ConversationListPage;
      return page.data.find((c) => c.id === conversationId);
    };
    const expectRefused = async (res: Response) => {
      expect(res.status).toBe(409);
      expect(((await res.json()) as ApiError).error.code).toBe("outside_service_window");
    };

    test("a contact who never wrote: free-form is a 409 outside_service_window, a template is sent", async () => {
      const id = h.fx.convOther.id;
      expect((await listed(id))?.service_window_expires_at).toBeNull();
      await expectRefused(await send(id, text));
      expect((await send(id, template)).status).toBe(201);
    });

    test("an inbound message opens the window for 24 h from its time, shown live and in the list", async () => {
      const id = h.fx.convAssigned.id;
      await expectRefused(await send(id, text));
      const socket = await h.connect(token);
      const updated = next(socket, "conversation:updated", WAIT_MS, (c) => c.id === id);
      const at = Math.floor(Date.now() / 1000) - 60;
      const res = await postWebhook(
        h,
        webhookPayload({
          messages: [
            { ...webhookTextMessage("wamid.window.1", h.fx.contactWhatsappId, "hi"), timestamp: String(at) },
          ],
        }),
      );
      expect(res.status).toBe(200);
      const expected = new Date(at * 1000 + SERVICE_WINDOW_MS).toISOString();
      expect((await updated).service_window_expires_at).toBe(expected);
      expect((await listed(id))?.service_window_expires_at).toBe(expected);
      expect((await send(id, text)).status).toBe(201);
      socket.disconnect();

      // A late, older inbound message does not move the window back.
      await postWebhook(
        h,
        webhookPayload({
          messages: [
            {
              ...webhookTextMessage("wamid.window.old", h.fx.contactWhatsappId, "old"),
              timestamp: String(at - 3600),
            },
          ],
        }),
      );
      expect((await listed(id))?.service_window_expires_at).toBe(expected);
    });

    test("the window closes exactly 24 h after the last inbound message", async () => {
      const id = h.fx.convAssigned.id;
      await setLastInbound(id, new Date(Date.now() - SERVICE_WINDOW_MS + MINUTE));
      expect((await send(id, text)).status).toBe(201);
      await setLastInbound(id, new Date(Date.now() - SERVICE_WINDOW_MS - 1000));
      await expectRefused(await send(id, text));
      await expectRefused(
        await send(id, { message_type: "image", content: { url: "https://x.test/a.png" } }),
      );
      expect((await send(id, template)).status).toBe(201);
    });

    test("a retry outside the window is refused like a first send; inside it, it is accepted", async () => {
      const id = h.fx.convAssigned.id;
      await setLastInbound(id, new Date());
      const sent = await send(id, { content: { text: "this one #fail s in the sandbox" } });
      expect(sent.status).toBe(201);
      const { message } = (await sent.json()) as { message: { id: string } };
      const deadline = Date.now() + WAIT_MS * 3;
      for (;;) {
        const [row] = await db().select().from(messages).where(eq(messages.id, message.id));
        if (row?.status === "failed") break;
        if (Date.now() > deadline) throw new Error("the sandbox never failed the message");
        await Bun.sleep(50);
      }
      const retry = () =>
        h.api(`/api/v1/conversations/${id}/messages/${message.id}/retry`, { method: "POST", token });
      await setLastInbound(id, new Date(Date.now() - SERVICE_WINDOW_MS - 1000));
      await expectRefused(await retry());
      await setLastInbound(id, new Date());
      expect((await retry()).status).toBe(202);
    });

    test("a row from before the column existed takes its window from its stored inbound messages", async () => {
      const id = h.fx.convQueue.id;
      await insertMessage(db(), {
        conversationId: id,
        organizationId: h.fx.orgA,
        direction: "inbound",
        senderType: "contact",
        messageType: "text",
        content: { text: "written before the upgrade" },
        status: "delivered",
        createdAt: new Date(Date.now() - 2 * 60 * MINUTE),
      });
      await setLastInbound(id, null);
      expect((await send(id, text)).status).toBe(201);
    });
  });
}
