/**
 * One checker per parser boundary, shared by the fast-check campaigns and the corpus replay: each
 * feeds one input across the boundary and throws when the answer is not one the protocol allows.
 */
import { expect } from "bun:test";
import { decodePollingPayload, PacketType } from "../../../protocol/engine/packet.ts";
import { PacketDecoder } from "../../../protocol/socketio/packet-codec.ts";
import { TokenError, type TokenService } from "../../../src/auth/tokens.ts";
import { HttpError } from "../../../src/http/errors.ts";
import { signPayload } from "../../../src/http/webhooks/signature.ts";
import { parseWhatsappWebhook } from "../../../src/http/webhooks/whatsapp-payload.ts";
import { TEST_APP_SECRET } from "./chat.ts";
import { fetchBounded } from "./wait.ts";

/** Largest number of binary attachments the Socket.IO layer accepts per packet (its default). */
export const MAX_ATTACHMENTS = 10;

/** A frame of a corpus file: text as is, binary as `{ "b64": "..." }`. */
export type CorpusFrame = string | { b64: string };
export const toFrame = (f: CorpusFrame): string | Uint8Array =>
  typeof f === "string" ? f : new Uint8Array(Buffer.from(f.b64, "base64"));

/** Engine.IO polling payloads: never throws; valid types only; an invalid packet ends the payload. */
export function checkEnginePayload(payload: string): void {
  const packets = decodePollingPayload(payload);
  expect(packets.length).toBeGreaterThan(0);
  packets.forEach((p, i) => {
    expect(p.type >= -1 && p.type <= PacketType.NOOP).toBe(true);
    if (p.type === -1) expect(i).toBe(packets.length - 1);
  });
}

/**
 * Socket.IO frames into one connection's decoder: each frame decodes or is refused with an Error
 * (the connection is then closed, so decoding stops there); decoded packets are well formed.
 */
export function checkSocketIoFrames(frames: readonly (string | Uint8Array)[]): void {
  const decoded: { type: number; nsp: string; data?: unknown }[] = [];
  const decoder = new PacketDecoder(MAX_ATTACHMENTS, (p) => decoded.push(p));
  try {
    for (const frame of frames) {
      try {
        decoder.add(frame);
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
        return;
      }
    }
  } finally {
    decoder.destroy();
  }
  for (const p of decoded) {
    expect(p.type >= 0 && p.type <= 6).toBe(true);
    expect(typeof p.nsp).toBe("string");
    expect(p.nsp.startsWith("/")).toBe(true);
  }
}

/** Webhook bodies: parsed into a batch of valid dates and non-empty ids, or refused with a 400. */
export function checkWebhookParse(body: unknown): void {
  let batch: ReturnType<typeof parseWhatsappWebhook>;
  try {
    batch = parseWhatsappWebhook(body);
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(400);
    return;
  }
  for (const m of batch.messages) {
    expect(m.whatsappMessageId.length).toBeGreaterThan(0);
    expect(Number.isNaN(m.at.getTime())).toBe(false);
  }
  for (const s of batch.statuses) expect(Number.isNaN(s.at.getTime())).toBe(false);
}

/** JWTs: anything but a token the service signed is refused with a TokenError (never another error). */
export async function checkJwt(
  tokens: TokenService,
  token: string,
  genuine: ReadonlySet<string>,
): Promise<void> {
  try {
    await tokens.verify(token, "access");
  } catch (err) {
    expect(err).toBeInstanceOf(TokenError);
    return;
  }
  expect(genuine.has(token)).toBe(true);
}

/** Fails with the status and the start of the body, so a counterexample explains itself. */
function expectStatus(status: number, allowed: readonly number[], body: string): void {
  if (!allowed.includes(status))
    throw new Error(`answered ${status} (allowed ${allowed.join("/")}): ${body.slice(0, 300)}`);
}

/** REST JSON bodies: 201 or a 400/413/415 JSON error naming a code; never a 5xx. */
export async function checkRestBody(
  url: string,
  authorization: string,
  body: string,
  contentType = "application/json",
) {
  const res = await fetchBounded(url, {
    method: "POST",
    headers: { authorization, "content-type": contentType },
    body,
  });
  const text = await res.text();
  expectStatus(res.status, [201, 400, 413, 415], text);
  const json = JSON.parse(text) as { error?: { code: string; message: string } };
  if (res.status !== 201)
    expect(json.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
}

/** Signed webhook bodies: 200 (stored or ignored) or a 400 JSON error; never a 5xx. */
export async function checkWebhookLive(baseUrl: string, body: string): Promise<void> {
  const res = await fetchBounded(`${baseUrl}/api/v1/webhooks/whatsapp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-hub-signature-256": signPayload(TEST_APP_SECRET, body),
    },
    body,
  });
  const text = await res.text();
  expectStatus(res.status, [200, 400], text);
}
