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
import { type AuthEnv, requireAuth } from "../auth.ts";
import { HttpError, invalid } from "../errors.ts";
import { PHONE_NUMBER_PROBLEM, SIMULATED_CUSTOMER_BODY } from "../openapi/routes.ts";
import { readJsonObject } from "../validate.ts";
import { parseWhatsappWebhook } from "../webhooks/whatsapp-payload.ts";

export function sandboxRoutes(ctx: AppContext): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const db = ctx.database.db;
  app.use("*", requireAuth(ctx.tokens, ctx.metrics, db));

  app.get("/", (c) => c.json({ channel: "sandbox", simulate_customer: true }));

  app.post("/customer-messages", async (c) => {
    const principal = c.get("principal");
    const body = SIMULATED_CUSTOMER_BODY.parse(await readJsonObject(c, ctx.config.httpBodyLimit), "");
    const { name, text } = body;
    // The schema's pattern is normalizeWhatsappId's: a number it accepts always normalizes.
    const from = normalizeWhatsappId(body.from);
    if (!from) throw invalid("from", PHONE_NUMBER_PROBLEM);
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
