/**
 * Media end to end, on PGlite and PostgreSQL. Inbound: a webhook image is stored with a link to
 * Switchboard's copy, fetched by the outbox worker through the Graph API's two-step download (with
 * the token), retried after a transient failure, refused beyond the size and type limits, and
 * served only to users who may read the conversation (another organization: 404). Outbound: an
 * upload within the limits, then a message that sends it by id (the channel uploads it to the
 * provider and sends it by the provider's id).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { conversations, media, messages } from "../../db/schema.ts";
import type { Message } from "../../src/shared/events.ts";
import { startHarness } from "../chat/harness.ts";
import { postWebhook, webhookPayload, webhookTimestamp } from "../chat/webhook-payloads.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { waitFor } from "../reliability/support/wait.ts";
import { FAKE_GRAPH_TOKEN, type FakeGraph, startFakeGraph } from "../support/fake-graph.ts";

const WAIT = 15_000;
const MAX_BYTES = 4096;
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5]);

for (const backend of await backends()) {
  describe(`media on ${backend.name}`, () => {
    let graph: FakeGraph;
    let h: Awaited<ReturnType<typeof startHarness>>;

    beforeAll(async () => {
      graph = startFakeGraph();
      h = await startHarness(backend, {
        CHANNEL: "whatsapp",
        // These conversations never had an inbound message: the 24 h window (test/chat/service-window.test.ts) is not under test here.
        SERVICE_WINDOW_ENFORCED: "false",
        WHATSAPP_API_BASE_URL: graph.url,
        WHATSAPP_ACCESS_TOKEN: FAKE_GRAPH_TOKEN,
        WHATSAPP_SEND_TIMEOUT_MS: "2000",
        OUTBOX_LEASE_MS: "5000",
        OUTBOX_POLL_MS: "50",
        OUTBOX_RETRY_BASE_MS: "20",
        OUTBOX_RETRY_MAX_MS: "100",
        MEDIA_MAX_BYTES: String(MAX_BYTES),
      });
    }, SETUP_TIMEOUT_MS);

    afterAll(async () => {
      await h?.close();
      graph?.close();
    });

    const db = () => h.server.ctx.database.db;

    /** Posts an inbound image/document message naming provider media `mediaId`; answers the stored message. */
    const receive = async (
      mediaId: string,
      type: "image" | "document",
      mimeType: string,
    ): Promise<Message> => {
      const wamid = `wamid.media.${crypto.randomUUID()}`;
      const res = await postWebhook(
        h,
        webhookPayload({
          messages: [
            {
              id: wamid,
              from: h.fx.contactWhatsappId,
              timestamp: webhookTimestamp(),
              type,
              [type]: { id: mediaId, mime_type: mimeType, caption: "look" },
            },
          ],
        }),
      );
      expect(res.status).toBe(200);
      const [row] = await db().select().from(messages).where(eq(messages.whatsappMessageId, wamid));
      return { id: row!.id, content: row!.content, conversation_id: row!.conversationId } as Message;
    };
    const mediaRow = async (id: string) => (await db().select().from(media).where(eq(media.id, id)))[0]!;
    const settled = (id: string) =>
      waitFor(async () => (await mediaRow(id)).status !== "pending", `media ${id} to settle`, WAIT);

    test("an inbound image is fetched with the token, stored, and served to a reader of the conversation", async () => {
      graph.addMedia("media-ok", { bytes: PNG, mimeType: "image/png" });
      // The first lookup fails: the outbox worker retries it.
      let failed = false;
      graph.setBehaviour((req) => {
        if (req.method === "GET" && !failed) {
          failed = true;
          return { kind: "error", status: 503 };
        }
        return { kind: "accept" };
      });
      const message = await receive("media-ok", "image", "image/png");
      const mediaId = message.content.media_id!;
      expect(message.content.url).toBe(`/api/v1/media/${mediaId}`);
      expect(message.content.caption).toBe("look");

      const token = await h.token(h.fx.agent);
      const early = await h.api(message.content.url!, { token });
      expect([200, 409]).toContain(early.status);
      await settled(mediaId);
      expect(await mediaRow(mediaId)).toMatchObject({
        status: "ready",
        mimeType: "image/png",
        sizeBytes: PNG.length,
      });
      const gets = graph.requests.filter((r) => r.method === "GET");
      expect(gets.length).toBe(3);
      expect(gets.every((r) => r.authorization === `Bearer ${FAKE_GRAPH_TOKEN}`)).toBe(true);

      const res = await h.api(message.content.url!, { token });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/png");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(PNG);

      // Another organization's user: 404, exactly like an unknown id.
      const other = await h.api(message.content.url!, { token: await h.token(h.fx.adminB) });
      expect(other.status).toBe(404);
      expect((await h.api(`/api/v1/media/${crypto.randomUUID()}`, { token })).status).toBe(404);
      expect((await h.api(message.content.url!)).status).toBe(401);
    });

    test("an agent who may not read the conversation gets 403; its readers get the file", async () => {
      graph.setBehaviour(() => ({ kind: "accept" }));
      graph.addMedia("media-assigned", { bytes: PNG, mimeType: "image/png" });
      const message = await receive("media-assigned", "image", "image/png");
      await settled(message.content.media_id!);
      await db()
        .update(conversations)
        .set({ assignedAgentId: h.fx.agent2.id })
        .where(eq(conversations.id, message.conversation_id));
      expect((await h.api(message.content.url!, { token: await h.token(h.fx.agent) })).status).toBe(403);
      expect((await h.api(message.content.url!, { token: await h.token(h.fx.agent2) })).status).toBe(200);
      expect((await h.api(message.content.url!, { token: await h.token(h.fx.viewer) })).status).toBe(200);
    });

    test("a file over MEDIA_MAX_BYTES, declared or actual, and a refused type fail without being stored", async () => {
      graph.setBehaviour(() => ({ kind: "accept" }));
      graph.addMedia("media-big", { bytes: new Uint8Array(MAX_BYTES + 1), mimeType: "application/pdf" });
      graph.addMedia("media-liar", {
        bytes: new Uint8Array(MAX_BYTES + 1),
        mimeType: "application/pdf",
        declaredSize: 10,
      });
      graph.addMedia("media-exe", { bytes: PNG, mimeType: "application/x-msdownload" });
      const token = await h.token(h.fx.admin);
      for (const [id, code] of [
        ["media-big", "media_too_large"],
        ["media-liar", "media_too_large"],
        ["media-exe", "media_type_refused"],
      ] as const) {
        const message = await receive(id, "document", "application/pdf");
        await settled(message.content.media_id!);
        expect(await mediaRow(message.content.media_id!)).toMatchObject({
          status: "failed",
          errorCode: code,
        });
        const res = await h.api(message.content.url!, { token });
        expect(res.status).toBe(410);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("media_unavailable");
      }
    });

    const upload = async (bytes: Uint8Array<ArrayBuffer>, type: string, token: string) =>
      h.api("/api/v1/media", { method: "POST", token, headers: { "content-type": type }, body: bytes });

    test("POST /api/v1/media stores an upload within the size and type limits", async () => {
      const token = await h.token(h.fx.agent);
      const res = await upload(PNG, "image/png", token);
      expect(res.status).toBe(201);
      const { media: stored } = (await res.json()) as {
        media: { id: string; url: string; size_bytes: number };
      };
      expect(stored.size_bytes).toBe(PNG.length);
      const back = await h.api(stored.url, { token });
      expect(new Uint8Array(await back.arrayBuffer())).toEqual(PNG);
      expect((await h.api(stored.url, { token: await h.token(h.fx.adminB) })).status).toBe(404);
      expect((await upload(new Uint8Array(MAX_BYTES + 1), "image/png", token)).status).toBe(413);
      const badType = await upload(PNG, "text/html", token);
      expect(badType.status).toBe(415);
      expect((await upload(new Uint8Array(0), "image/png", token)).status).toBe(400);
      expect((await upload(PNG, "image/png", await h.token(h.fx.viewer))).status).toBe(403);
    });

    test("a message sends an uploaded file by id: uploaded to the provider, sent by the provider's id, once", async () => {
      graph.setBehaviour(() => ({ kind: "accept" }));
      const token = await h.token(h.fx.admin);
      const { media: stored } = (await (await upload(PNG, "image/png", token)).json()) as {
        media: { id: string };
      };
      const res = await h.api(`/api/v1/conversations/${h.fx.convQueue.id}/messages`, {
        method: "POST",
        token,
        body: JSON.stringify({
          message_type: "image",
          content: { media_id: stored.id, caption: "our photo" },
        }),
      });
      expect(res.status).toBe(201);
      const { message } = (await res.json()) as { message: Message };
      expect(message.content).toMatchObject({
        media_id: stored.id,
        url: `/api/v1/media/${stored.id}`,
        mime_type: "image/png",
      });
      await waitFor(
        async () =>
          (await db().select().from(messages).where(eq(messages.id, message.id)))[0]?.status === "sent",
        "the media message to be sent",
        WAIT,
      );
      expect(graph.uploads).toHaveLength(1);
      expect(graph.uploads[0]!.size).toBeGreaterThan(PNG.length);
      const sent = graph.accepted.filter((a) => a.type === "image");
      expect(sent).toHaveLength(1);
      expect(sent[0]!.mediaId).toBe(graph.uploads[0]!.id);

      // Now it belongs to that conversation: it cannot be sent elsewhere, nor can another org's file.
      const elsewhere = await h.api(`/api/v1/conversations/${h.fx.convAssigned.id}/messages`, {
        method: "POST",
        token,
        body: JSON.stringify({ message_type: "image", content: { media_id: stored.id } }),
      });
      expect(elsewhere.status).toBe(422);
      expect(((await elsewhere.json()) as { error: { code: string } }).error.code).toBe("media_unavailable");
      const tokenB = await h.token(h.fx.adminB);
      const { media: foreign } = (await (await upload(PNG, "image/png", tokenB)).json()) as {
        media: { id: string };
      };
      const stolen = await h.api(`/api/v1/conversations/${h.fx.convQueue.id}/messages`, {
        method: "POST",
        token,
        body: JSON.stringify({ message_type: "image", content: { media_id: foreign.id } }),
      });
      expect(stolen.status).toBe(422);
    });
  });
}
