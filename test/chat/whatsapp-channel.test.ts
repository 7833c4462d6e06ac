/**
 * The WhatsApp Cloud API channel against a local fake Graph API on 127.0.0.1: the request it makes,
 * and the whole send flow (pending → sent with the channel's id, or failed with the API's error).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { ChannelError } from "../../src/channels/channel.ts";
import { WhatsappCloudChannel } from "../../src/channels/whatsapp-cloud.ts";
import type { SendMessageResponse } from "../../src/shared/api.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { type Harness, next, startHarness, WAIT_MS } from "./harness.ts";

interface Captured {
  path: string;
  auth: string | null;
  body: Record<string, unknown>;
}

const ACCESS_TOKEN = "graph-token";
const PHONE_ID = "1098765";

describe("WhatsApp Cloud API channel", () => {
  let graph: Server<unknown>;
  const captured: Captured[] = [];
  let channel: WhatsappCloudChannel;
  let h: Harness;

  beforeAll(async () => {
    graph = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const body = (await req.json()) as Record<string, unknown>;
        captured.push({ path: new URL(req.url).pathname, auth: req.headers.get("authorization"), body });
        if (body.to === "000")
          return Response.json(
            { error: { message: "(#131030) Recipient not in allowed list", code: 131030 } },
            { status: 400 },
          );
        return Response.json({
          messaging_product: "whatsapp",
          contacts: [{ input: body.to, wa_id: body.to }],
          messages: [{ id: `wamid.fake.${captured.length}` }],
        });
      },
    });
    channel = new WhatsappCloudChannel({
      baseUrl: `http://127.0.0.1:${graph.port}/v21.0`,
      phoneNumberId: PHONE_ID,
      accessToken: ACCESS_TOKEN,
      timeoutMs: WAIT_MS,
    });
    const [backend] = await backends();
    h = await startHarness(backend!, {}, { channel });
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await h?.close();
    graph?.stop(true);
  }, SETUP_TIMEOUT_MS);

  test("sends a text to the Graph messages endpoint with the bearer token", async () => {
    const result = await channel.send({
      messageId: "m",
      to: "4915112345",
      messageType: "text",
      content: { text: "hi" },
    });
    expect(result.whatsappMessageId).toStartWith("wamid.fake.");
    const req = captured.at(-1)!;
    expect(req.path).toBe(`/v21.0/${PHONE_ID}/messages`);
    expect(req.auth).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(req.body).toEqual({
      messaging_product: "whatsapp",
      recipient_type: "individual",
      to: "4915112345",
      type: "text",
      text: { body: "hi", preview_url: false },
    });
  });

  test("an API error becomes a ChannelError with the API's code", async () => {
    const err = await channel
      .send({ messageId: "m", to: "000", messageType: "text", content: { text: "x" } })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ChannelError);
    expect(err.code).toBe("131030");
  });

  test("an unreachable API becomes a ChannelError, not a crash", async () => {
    const dead = new WhatsappCloudChannel({
      baseUrl: "http://127.0.0.1:1",
      phoneNumberId: "x",
      accessToken: "y",
      timeoutMs: 1000,
    });
    const err = await dead
      .send({ messageId: "m", to: "1", messageType: "text", content: { text: "x" } })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ChannelError);
  });

  test("a message sent through the server moves pending → sent with the Graph id", async () => {
    const admin = await h.token(h.fx.admin);
    const socket = await h.connect(admin);
    const id = h.fx.convAssigned.id;
    await socket.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id });
    const sent = next(socket, "message:status");
    const res = await h.api(`/api/v1/conversations/${id}/messages`, {
      method: "POST",
      token: admin,
      body: JSON.stringify({
        message_type: "image",
        content: { url: "https://example.com/a.png", caption: "look" },
      }),
    });
    const { message } = (await res.json()) as SendMessageResponse;
    expect(await sent).toMatchObject({ message_id: message.id, status: "sent" });
    expect(captured.at(-1)!.body).toMatchObject({
      to: h.fx.contactWhatsappId,
      type: "image",
      image: { link: "https://example.com/a.png", caption: "look" },
    });
    socket.disconnect();
  });
});
