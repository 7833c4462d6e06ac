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

/** WhatsApp timestamps are unix seconds as strings. */
function time(v: unknown): Date {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? new Date(n * 1000) : new Date();
}

function content(m: Json): { messageType: MessageType; content: MessageContent } {
  const type = str(m.type) ?? "unknown";
  if (type === "text" && isObj(m.text))
    return { messageType: "text", content: { text: str(m.text.body) ?? "" } };
  if ((MEDIA as readonly string[]).includes(type) && isObj(m[type])) {
    const media = m[type] as Json;
    const c: MessageContent = {};
    // Inbound media carry a media id to fetch through the Graph API, not a public link.
    const url = str(media.link) ?? (str(media.id) ? `whatsapp-media:${media.id}` : undefined);
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
  for (const entry of arr(body.entry)) {
    if (!isObj(entry)) continue;
    for (const change of arr(entry.changes)) {
      if (!isObj(change) || !isObj(change.value)) continue;
      const value = change.value;
      const phoneNumberId = isObj(value.metadata) ? str(value.metadata.phone_number_id) : undefined;
      const names = new Map<string, string>();
      for (const c of arr(value.contacts)) {
        if (isObj(c) && str(c.wa_id) && isObj(c.profile) && str(c.profile.name))
          names.set(c.wa_id as string, c.profile.name as string);
      }
      for (const m of arr(value.messages)) {
        if (!isObj(m) || !phoneNumberId) continue;
        const id = str(m.id);
        const from = str(m.from);
        if (!id || !from) continue;
        const inbound: InboundMessage = {
          phoneNumberId,
          whatsappMessageId: id,
          from,
          contactName: names.get(from),
          at: time(m.timestamp),
          ...content(m),
        };
        batch.messages.push(inbound);
      }
      for (const s of arr(value.statuses)) {
        if (!isObj(s)) continue;
        const id = str(s.id);
        const status = str(s.status) as ReportedStatus | undefined;
        if (!id || !status || !REPORTED.includes(status)) continue;
        const report: StatusReport = { whatsappMessageId: id, status, at: time(s.timestamp) };
        const error = arr(s.errors)[0];
        if (status === "failed" && isObj(error)) {
          if (error.code !== undefined) report.errorCode = String(error.code);
          report.errorMessage = str(error.message) ?? str(error.title) ?? "delivery failed";
        }
        batch.statuses.push(report);
      }
    }
  }
  return batch;
}
