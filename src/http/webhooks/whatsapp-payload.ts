/**
 * Turns a WhatsApp Cloud API webhook body (`object: "whatsapp_business_account"`, entry[].changes[]
 * .value with messages[], contacts[], statuses[]) into an InboundBatch, in payload order.
 * Unknown message types are kept as text placeholders so nothing a contact sends disappears.
 * https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
 */
import type { ReportedStatus, StatusReport } from "../../channels/channel.ts";
import type { InboundBatch, InboundMessage } from "../../services/inbound.ts";
import type { MessageContent, MessageType } from "../../shared/events.ts";
import { invalid } from "../errors.ts";

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
// NUL is stripped: PostgreSQL text/jsonb refuse it, and a webhook that can never be stored would be retried forever.
const str = (v: unknown): string | undefined =>
  typeof v === "string" && v !== "" ? v.replaceAll("\u0000", "") : undefined;

const REPORTED: readonly ReportedStatus[] = ["sent", "delivered", "read", "failed"];
const MEDIA: readonly MessageType[] = ["image", "video", "audio", "document"];

/** The largest |milliseconds| a Date holds (ECMA-262 TimeClip); beyond it a Date is Invalid. */
const MAX_DATE_MS = 8.64e15;
const TIMESTAMP_REFUSED = "must be positive unix seconds (a number or numeric string) within the Date range";

/**
 * WhatsApp timestamps are unix seconds as strings. An absent one means "now"; a present one that is
 * not a positive finite number of seconds within the Date range is refused (400 naming `field`),
 * since an Invalid Date cannot be stored and would otherwise fail the whole batch with a 500.
 */
function time(v: unknown, field: string): Date {
  if (v === undefined) return new Date();
  const n = typeof v === "number" || (typeof v === "string" && v.trim() !== "") ? Number(v) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0 || n * 1000 > MAX_DATE_MS) throw invalid(field, TIMESTAMP_REFUSED);
  return new Date(n * 1000);
}

function content(m: Json): { messageType: MessageType; content: MessageContent } {
  const type = str(m.type) ?? "unknown";
  if (type === "text" && isObj(m.text))
    return { messageType: "text", content: { text: str(m.text.body) ?? "" } };
  if ((MEDIA as readonly string[]).includes(type) && isObj(m[type])) {
    const media = m[type] as Json;
    const c: MessageContent = {};
    // Inbound media carry a media id to fetch through the Graph API, not a public link.
    const mediaId = str(media.id);
    const url = str(media.link) ?? (mediaId ? `whatsapp-media:${mediaId}` : undefined);
    if (url) c.url = url;
    if (str(media.caption)) c.caption = str(media.caption);
    if (str(media.filename)) c.filename = str(media.filename);
    if (str(media.mime_type)) c.mime_type = str(media.mime_type);
    return { messageType: type as MessageType, content: c };
  }
  if (type === "button" && isObj(m.button))
    return { messageType: "text", content: { text: str(m.button.text) ?? "" } };
  return { messageType: "text", content: { text: `[unsupported ${type} message]` } };
}

export function parseWhatsappWebhook(body: unknown): InboundBatch {
  if (!isObj(body)) throw invalid("body", "must be a JSON object");
  if (body.object !== "whatsapp_business_account")
    throw invalid("object", 'must be "whatsapp_business_account"');
  const batch: InboundBatch = { messages: [], statuses: [] };
  for (const [e, entry] of arr(body.entry).entries()) {
    if (!isObj(entry)) continue;
    for (const [c, change] of arr(entry.changes).entries()) {
      if (!isObj(change) || !isObj(change.value)) continue;
      const value = change.value;
      const where = `entry[${e}].changes[${c}].value`;
      const phoneNumberId = isObj(value.metadata) ? str(value.metadata.phone_number_id) : undefined;
      const names = new Map<string, string>();
      for (const contact of arr(value.contacts)) {
        // Through str() like every other string: a raw name with NUL would fail the contact insert.
        const waId = isObj(contact) ? str(contact.wa_id) : undefined;
        const name = isObj(contact) && isObj(contact.profile) ? str(contact.profile.name) : undefined;
        if (waId && name) names.set(waId, name);
      }
      for (const [i, m] of arr(value.messages).entries()) {
        if (!isObj(m) || !phoneNumberId) continue;
        const id = str(m.id);
        const from = str(m.from);
        if (!id || !from) continue;
        const inbound: InboundMessage = {
          phoneNumberId,
          whatsappMessageId: id,
          from,
          contactName: names.get(from),
          at: time(m.timestamp, `${where}.messages[${i}].timestamp`),
          ...content(m),
        };
        batch.messages.push(inbound);
      }
      for (const [i, s] of arr(value.statuses).entries()) {
        if (!isObj(s)) continue;
        const id = str(s.id);
        const status = str(s.status) as ReportedStatus | undefined;
        if (!id || !status || !REPORTED.includes(status)) continue;
        const report: StatusReport = {
          whatsappMessageId: id,
          status,
          at: time(s.timestamp, `${where}.statuses[${i}].timestamp`),
        };
        const error = arr(s.errors)[0];
        if (status === "failed" && isObj(error)) {
          if (error.code !== undefined) report.errorCode = String(error.code).replaceAll("\u0000", "");
          report.errorMessage = str(error.message) ?? str(error.title) ?? "delivery failed";
        }
        batch.statuses.push(report);
      }
    }
  }
  return batch;
}
