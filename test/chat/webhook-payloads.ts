/** WhatsApp Cloud API webhook bodies for tests, and a signed POST of one to the test server. */
import { signPayload } from "../../src/http/webhooks/signature.ts";
import { type Harness, TEST_APP_SECRET, TEST_PHONE_NUMBER_ID } from "./harness.ts";

export const WEBHOOK_PATH = "/api/v1/webhooks/whatsapp";

/** Seconds since the epoch as the string WhatsApp sends, `offsetS` from now. */
export const webhookTimestamp = (offsetS = 0) => String(Math.floor(Date.now() / 1000) + offsetS);

/** A `messages` webhook body carrying `value` (messages, statuses, contacts) for the test number. */
export function webhookPayload(value: { messages?: unknown[]; statuses?: unknown[]; contacts?: unknown[] }) {
  return {
    object: "whatsapp_business_account",
    entry: [
      {
        id: "waba-1",
        changes: [
          {
            field: "messages",
            value: {
              messaging_product: "whatsapp",
              metadata: { phone_number_id: TEST_PHONE_NUMBER_ID },
              ...value,
            },
          },
        ],
      },
    ],
  };
}

/** An inbound text message as it appears in `value.messages`. */
export const webhookTextMessage = (id: string, from: string, body: string) => ({
  id,
  from,
  timestamp: webhookTimestamp(),
  type: "text",
  text: { body },
});

/** POSTs `body` to the webhook, signed with the test app secret unless `signature` says otherwise (null: unsigned). */
export function postWebhook(h: Harness, body: unknown, signature?: string | null): Promise<Response> {
  const raw = JSON.stringify(body);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (signature !== null) headers["x-hub-signature-256"] = signature ?? signPayload(TEST_APP_SECRET, raw);
  return h.api(WEBHOOK_PATH, { method: "POST", body: raw, headers });
}
