/**
 * Sandbox-only endpoints (mounted only with CHANNEL=sandbox, so elsewhere they answer 404 like any
 * unknown route): `GET /api/v1/sandbox` tells the web UI to show its "simulate customer" panel;
 * `POST /api/v1/sandbox/customer-messages {from, name?, text}` makes a customer of the caller's
 * organization write in. The message is built as the WhatsApp webhook body and goes through the
 * same parser and inbound service as a real webhook (normalization, dedup, events).
 */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { organizations } from "../../../db/schema.ts";
import type { AppContext } from "../../context.ts";
import { normalizeWhatsappId, simulatedWebhook } from "../../sandbox/customer.ts";
import type { SimulatedCustomerResponse } from "../../shared/api.ts";
import { TEXT_LIMITS } from "../../shared/text.ts";
import { type AuthEnv, requireAuth } from "../auth.ts";
import { HttpError, invalid } from "../errors.ts";
import { optionalText, readJsonObject, requireText } from "../validate.ts";
import { parseWhatsappWebhook } from "../webhooks/whatsapp-payload.ts";

export function sandboxRoutes(ctx: AppContext): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const db = ctx.database.db;
  app.use("*", requireAuth(ctx.tokens, ctx.metrics, db));

  app.get("/", (c) => c.json({ channel: "sandbox", simulate_customer: true }));

  app.post("/customer-messages", async (c) => {
    const principal = c.get("principal");
    const body = await readJsonObject(c, ctx.config.httpBodyLimit);
    const from = normalizeWhatsappId(requireText(body, "from", { max: 32, shape: "line" }));
    if (!from) throw invalid("from", "must be a phone number in international format, e.g. +15550001111");
    const name = optionalText(body, "name", { max: TEXT_LIMITS.contactName, shape: "line" });
    const text = requireText(body, "text", { max: TEXT_LIMITS.messageText });
    const [org] = await db
      .select({ phoneNumberId: organizations.whatsappPhoneNumberId })
      .from(organizations)
      .where(eq(organizations.id, principal.organization_id))
      .limit(1);
    if (!org?.phoneNumberId)
      throw new HttpError(409, "no_whatsapp_number", "this organization has no WhatsApp number to write to");
    const batch = parseWhatsappWebhook(
      simulatedWebhook({ phoneNumberId: org.phoneNumberId, from, name, text }),
    );
    const result = await ctx.inbound.ingest(batch);
    const stored = result.events.find((e) => e.kind === "message:new");
    if (stored?.kind !== "message:new")
      throw new HttpError(500, "internal_error", "the simulated message was not stored");
    return c.json<SimulatedCustomerResponse>({ message: stored.message }, 201);
  });

  return app;
}
