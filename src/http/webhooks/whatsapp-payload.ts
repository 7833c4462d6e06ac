/**
 * Turns a WhatsApp Cloud API webhook body (`object: "whatsapp_business_account"`, entry[].changes[]
 * .value with messages[], contacts[], statuses[]) into an InboundBatch, in payload order.
 *
 * Item by item: a malformed message or status (no id, a timestamp outside the Date range, ...) is
 * set aside in `rejected` with its place and a reason, and its neighbours are kept, so one bad item
 * never makes the provider retry (and us refuse) the valid ones for ever. Only a body that is not a
 * WhatsApp webhook at all is refused as a whole (400). Every string passes the one text rule
 * (src/shared/text.ts); texts over their limit are cut, never refused (the sender cannot fix them).
 * Unknown message types are kept as text placeholders so nothing a contact sends disappears.
 * https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
 */
import type { ReportedStatus, StatusReport } from "../../channels/channel.ts";
import type { InboundBatch, InboundMessage, RejectedItem, RejectReason } from "../../services/inbound.ts";
import type { MessageContent, MessageType } from "../../shared/events.ts";
import { isStorableDate } from "../../shared/ranges.ts";
import { cleanText, TEXT_LIMITS, type TextShape, truncateText } from "../../shared/text.ts";
import { invalid } from "../errors.ts";

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A normalized, cut string; undefined when absent or empty after normalization. */
function text(v: unknown, max: number, shape: TextShape = "line"): string | undefined {
  if (typeof v !== "string") return undefined;
  const out = truncateText(cleanText(v, shape), max);
  return out === "" ? undefined : out;
}
/** A provider identifier: normalized, and refused (undefined) rather than cut when too long. */
function identifier(v: unknown): string | undefined {
  const id = typeof v === "string" ? cleanText(v, "line") : "";
  return id !== "" && id.length <= TEXT_LIMITS.providerId ? id : undefined;
}

const REPORTED: readonly ReportedStatus[] = ["sent", "delivered", "read", "failed"];
const MEDIA: readonly MessageType[] = ["image", "video", "audio", "document"];

/**
 * WhatsApp timestamps are unix seconds as strings. An absent one means "now"; a present one that is
 * not a positive number of seconds within the storable range (src/shared/ranges.ts) is null (the
 * item is rejected), since the database could not store it.
 */
function time(v: unknown): Date | null {
  if (v === undefined) return new Date();
  const n = typeof v === "number" || (typeof v === "string" && v.trim() !== "") ? Number(v) : Number.NaN;
  if (!(n > 0) || !isStorableDate(n * 1000)) return null;
  return new Date(n * 1000);
}

function content(m: Json): { messageType: MessageType; content: MessageContent } {
  const type = text(m.type, 64) ?? "unknown";
  if (type === "text" && isObj(m.text))
    return {
      messageType: "text",
      content: { text: text(m.text.body, TEXT_LIMITS.messageText, "multiline") ?? "" },
    };
  if ((MEDIA as readonly string[]).includes(type) && isObj(m[type])) {
    const media = m[type] as Json;
    const c: MessageContent = {};
    // Inbound media carry a media id to fetch through the Graph API, not a public link.
    const mediaId = identifier(media.id);
    const url = text(media.link, TEXT_LIMITS.url) ?? (mediaId ? `whatsapp-media:${mediaId}` : undefined);
    if (url) c.url = url;
    const caption = text(media.caption, TEXT_LIMITS.caption, "multiline");
    const filename = text(media.filename, TEXT_LIMITS.filename);
    const mimeType = text(media.mime_type, TEXT_LIMITS.mimeType);
    if (caption) c.caption = caption;
    if (filename) c.filename = filename;
    if (mimeType) c.mime_type = mimeType;
    return { messageType: type as MessageType, content: c };
  }
  if (type === "button" && isObj(m.button))
    return {
      messageType: "text",
      content: { text: text(m.button.text, TEXT_LIMITS.messageText, "multiline") ?? "" },
    };
  return { messageType: "text", content: { text: `[unsupported ${type} message]` } };
}

export function parseWhatsappWebhook(body: unknown): InboundBatch {
  if (!isObj(body)) throw invalid("body", "must be a JSON object");
  if (body.object !== "whatsapp_business_account")
    throw invalid("object", 'must be "whatsapp_business_account"');
  const batch: InboundBatch = { messages: [], statuses: [], rejected: [] };
  const reject = (kind: RejectedItem["kind"], where: string, reason: RejectReason, id?: string) =>
    batch.rejected?.push({ kind, where, reason, ...(id ? { whatsappMessageId: id } : {}) });
  for (const [e, entry] of arr(body.entry).entries()) {
    if (!isObj(entry)) {
      reject("change", `entry[${e}]`, "not_an_object");
      continue;
    }
    for (const [c, change] of arr(entry.changes).entries()) {
      const where = `entry[${e}].changes[${c}].value`;
      if (!isObj(change) || !isObj(change.value)) {
        reject("change", where, "not_an_object");
        continue;
      }
      const value = change.value;
      const phoneNumberId = isObj(value.metadata) ? identifier(value.metadata.phone_number_id) : undefined;
      const names = new Map<string, string>();
      for (const contact of arr(value.contacts)) {
        const waId = isObj(contact) ? identifier(contact.wa_id) : undefined;
        const name =
          isObj(contact) && isObj(contact.profile)
            ? text(contact.profile.name, TEXT_LIMITS.contactName)
            : undefined;
        if (waId && name) names.set(waId, name);
      }
      for (const [i, m] of arr(value.messages).entries()) {
        const at = `${where}.messages[${i}]`;
        if (!isObj(m)) {
          reject("message", at, "not_an_object");
          continue;
        }
        const id = identifier(m.id);
        const from = identifier(m.from);
        const sent = time(m.timestamp);
        if (!id) reject("message", at, "missing_id");
        else if (!phoneNumberId) reject("message", at, "missing_phone_number_id", id);
        else if (!from) reject("message", at, "missing_from", id);
        else if (!sent) reject("message", at, "invalid_timestamp", id);
        else {
          const inbound: InboundMessage = {
            phoneNumberId,
            whatsappMessageId: id,
            from,
            contactName: names.get(from),
            at: sent,
            ...content(m),
          };
          batch.messages.push(inbound);
        }
      }
      for (const [i, s] of arr(value.statuses).entries()) {
        const at = `${where}.statuses[${i}]`;
        if (!isObj(s)) {
          reject("status", at, "not_an_object");
          continue;
        }
        const id = identifier(s.id);
        const status = text(s.status, 32) as ReportedStatus | undefined;
        const when = time(s.timestamp);
        if (!id) reject("status", at, "missing_id");
        else if (!status || !REPORTED.includes(status)) reject("status", at, "unsupported_status", id);
        else if (!when) reject("status", at, "invalid_timestamp", id);
        else {
          const report: StatusReport = { whatsappMessageId: id, status, at: when };
          const error = arr(s.errors)[0];
          if (status === "failed" && isObj(error)) {
            const code = error.code === undefined ? undefined : text(String(error.code), 64);
            if (code) report.errorCode = code;
            report.errorMessage =
              text(error.message, TEXT_LIMITS.caption, "multiline") ??
              text(error.title, TEXT_LIMITS.caption, "multiline") ??
              "delivery failed";
          }
          batch.statuses.push(report);
        }
      }
    }
  }
  return batch;
}
