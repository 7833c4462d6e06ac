/**
 * A customer on demand (sandbox and demos): the WhatsApp Cloud API webhook body a contact's message
 * produces, so a simulated message takes the real inbound path (parser, normalizer, per-item
 * ingest). Used by `bun run simulate` (signed POST to the webhook) and by the sandbox-only REST
 * endpoint behind the web UI's "simulate customer" panel (src/http/routes/sandbox.ts).
 */
import { randomUUID } from "node:crypto";

/**
 * Where `bun run simulate --image` leaves a file, under DATA_DIR, named by its media id: the place a
 * sandbox media fetch reads the bytes the Graph API would serve.
 */
export const SANDBOX_MEDIA_DIR = "sandbox-media";

/** An inbound image as the webhook carries it: a media id the channel fetches, never the bytes. */
export interface SimulatedImage {
  mediaId: string;
  mimeType: string;
  sha256?: string;
  caption?: string;
}

export interface SimulatedMessage {
  /** The business number the customer writes to (routes the message to an organization). */
  phoneNumberId: string;
  /** The customer's WhatsApp id: digits only (normalizeWhatsappId). */
  from: string;
  name?: string | undefined;
  text?: string | undefined;
  image?: SimulatedImage | undefined;
  /** Default now. */
  at?: Date;
  /** Default a fresh `wamid.sim.<uuid>`. */
  id?: string;
}

/**
 * A phone number as people write it: 6 to 15 digits (E.164 length) among spaces, parentheses, dots,
 * dashes and plus signs. The sandbox endpoint publishes it as its `from` pattern.
 */
export const WHATSAPP_PHONE_PATTERN = "^[\\s()+.\\-]*(?:\\d[\\s()+.\\-]*){6,15}$";
const PHONE_RE = new RegExp(WHATSAPP_PHONE_PATTERN, "u");

/** "+1 (555) 000-1111" → "15550001111"; null unless 6 to 15 digits remain (E.164 length). */
export function normalizeWhatsappId(from: string): string | null {
  return PHONE_RE.test(from) ? from.replace(/[\s()+.-]/g, "") : null;
}

/** The webhook body WhatsApp sends for this message. */
export function simulatedWebhook(m: SimulatedMessage): Record<string, unknown> {
  const message: Record<string, unknown> = {
    from: m.from,
    id: m.id ?? `wamid.sim.${randomUUID()}`,
    timestamp: String(Math.floor((m.at ?? new Date()).getTime() / 1000)),
  };
  if (m.image) {
    message.type = "image";
    message.image = {
      id: m.image.mediaId,
      mime_type: m.image.mimeType,
      ...(m.image.sha256 ? { sha256: m.image.sha256 } : {}),
      ...(m.image.caption ? { caption: m.image.caption } : {}),
    };
  } else {
    message.type = "text";
    message.text = { body: m.text ?? "" };
  }
  return {
    object: "whatsapp_business_account",
    entry: [
      {
        id: "sandbox",
        changes: [
          {
            field: "messages",
            value: {
              messaging_product: "whatsapp",
              metadata: { phone_number_id: m.phoneNumberId },
              contacts: [{ wa_id: m.from, ...(m.name ? { profile: { name: m.name } } : {}) }],
              messages: [message],
            },
          },
        ],
      },
    ],
  };
}
