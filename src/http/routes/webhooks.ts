/**
 * The WhatsApp webhook: GET answers Meta's verification handshake, POST stores what it reports.
 * A POST without a valid X-Hub-Signature-256 is refused with 401 before anything is parsed or
 * stored. A signed one is answered 200 once every valid item is stored, also when some items were
 * malformed or refused by the database (they are logged and counted, see src/services/inbound.ts):
 * Meta retries anything but a 2xx, and retrying cannot fix a bad item. Only a body that is not a
 * WhatsApp webhook at all is a 400, and an unreachable database a 503 (worth a retry).
 */
import { Hono } from "hono";
import type { AppContext } from "../../context.ts";
import { HTTP_ERROR_CODES, HttpError, invalid, unauthorized } from "../errors.ts";
import { readRawBody } from "../validate.ts";
import { resolveWebhookAppSecret } from "../webhooks/app-secret.ts";
import { SIGNATURE_HEADER, verifySignature } from "../webhooks/signature.ts";
import { parseWhatsappWebhook } from "../webhooks/whatsapp-payload.ts";

export const WEBHOOK_ERRORS = {
  badSignature: "missing or invalid X-Hub-Signature-256",
  notConfigured: "the webhook is not configured (WHATSAPP_APP_SECRET)",
  verifyRefused: "verification refused: hub.verify_token does not match",
  verifyNotConfigured: "verification is not configured (WHATSAPP_VERIFY_TOKEN)",
} as const;

export function webhookRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  const { whatsappVerifyToken, webhookBodyLimit } = ctx.config;
  const whatsappAppSecret = resolveWebhookAppSecret(ctx.config);

  app.get("/whatsapp", (c) => {
    const mode = c.req.query("hub.mode");
    const token = c.req.query("hub.verify_token");
    const challenge = c.req.query("hub.challenge");
    if (mode !== "subscribe") throw invalid("hub.mode", 'must be "subscribe"');
    if (!challenge) throw invalid("hub.challenge", "is required");
    if (!whatsappVerifyToken)
      throw new HttpError(403, HTTP_ERROR_CODES.forbidden, WEBHOOK_ERRORS.verifyNotConfigured);
    if (token !== whatsappVerifyToken)
      throw new HttpError(403, HTTP_ERROR_CODES.forbidden, WEBHOOK_ERRORS.verifyRefused);
    return c.text(challenge, 200);
  });

  app.post("/whatsapp", async (c) => {
    if (!whatsappAppSecret) throw unauthorized(WEBHOOK_ERRORS.notConfigured);
    const raw = await readRawBody(c, webhookBodyLimit);
    if (!verifySignature(whatsappAppSecret, raw, c.req.header(SIGNATURE_HEADER)))
      throw unauthorized(WEBHOOK_ERRORS.badSignature, "invalid_signature");
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      throw invalid("body", "is not valid JSON");
    }
    const result = await ctx.inbound.ingest(parseWhatsappWebhook(body));
    return c.json({
      status: "ok",
      stored_messages: result.storedMessages,
      duplicate_messages: result.duplicateMessages,
      applied_statuses: result.appliedStatuses,
      ignored_statuses: result.ignoredStatuses,
      rejected_items: result.rejected.length,
    });
  });

  return app;
}
