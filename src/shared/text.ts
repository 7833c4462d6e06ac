/**
 * The one rule for text that comes from outside (REST bodies, webhook payloads, socket payloads),
 * applied before anything is stored or relayed. Browser-safe: no imports.
 *
 * - Lone UTF-16 surrogates become U+FFFD. JSON may carry them (`"\ud800"`), but PostgreSQL's jsonb
 *   refuses them and UTF-8 cannot encode them: one bad character would otherwise fail the request
 *   (a 500) or a whole webhook batch.
 * - NUL (U+0000) is removed: PostgreSQL text and jsonb cannot hold it.
 * - The other C0 controls (U+0001–U+001F except TAB, LF, CR), DEL and the C1 controls
 *   (U+0080–U+009F) are removed: nothing in a chat shows them, WhatsApp's apps cannot type them, and
 *   some (ESC, BEL) act on the terminals and log viewers that later display the text. TAB, LF and CR
 *   are real text in a message; in a one-line field (a name, an id) they become a space.
 *   Everything else is kept as sent (no Unicode normalization: ZWJ emoji sequences, bidi marks and
 *   combining characters are the sender's text).
 * - Lengths are UTF-16 code units (what JavaScript's `length` and the web UI's `maxlength` count),
 *   limits in TEXT_LIMITS. A caller either refuses text over its limit (REST: the author can fix
 *   it) or cuts it (webhooks: the provider cannot, and dropping the message would lose it).
 */

/** Maximum lengths of stored text, per field. WhatsApp's own: text body 4096, caption 1024. */
export const TEXT_LIMITS = {
  messageText: 4096,
  caption: 1024,
  filename: 255,
  templateName: 512,
  templateParameter: 1024,
  templateParameters: 50,
  language: 16,
  url: 2048,
  mimeType: 255,
  contactName: 256,
  /** Provider identifiers: message ids (wamid), WhatsApp ids, media ids, phone number ids. */
  providerId: 256,
} as const;

/** "multiline" keeps TAB, LF and CR; "line" turns them into spaces. */
export type TextShape = "multiline" | "line";

/** C0 controls except TAB/LF/CR, DEL, C1 controls, and any surrogate (the slow path sorts lone from paired). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this regex's job.
const NEEDS_WORK = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uD800-\uDFFF]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: see NEEDS_WORK.
const REMOVED = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
const LINE_BREAKS = /[\t\n\r]/g;

/** `value` under the rule above: well-formed, without NUL and control characters. */
export function cleanText(value: string, shape: TextShape = "multiline"): string {
  let out = value;
  if (NEEDS_WORK.test(out)) out = out.toWellFormed().replace(REMOVED, "");
  return shape === "line" ? out.replace(LINE_BREAKS, " ") : out;
}

/** The first `max` code units of `value`, never ending in the first half of a surrogate pair. */
export function truncateText(value: string, max: number): string {
  if (value.length <= max) return value;
  const last = value.charCodeAt(max - 1);
  return value.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/** Nesting deeper than this is left out of `cleanDeep` (socket payloads are a few levels at most). */
const MAX_DEPTH = 8;

/**
 * Every string inside a JSON-like value through `cleanText` (a socket event's payload): plain
 * objects and arrays are copied, binary and other values kept as they are, keys cleaned too.
 * Anything nested deeper than MAX_DEPTH is dropped (undefined), since no event carries such a shape.
 */
export function cleanDeep(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return cleanText(value);
  if (typeof value !== "object" || value === null) return value;
  if (depth >= MAX_DEPTH) return undefined;
  if (Array.isArray(value)) return value.map((v) => cleanDeep(v, depth + 1));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  // fromEntries defines own properties: a "__proto__" key stays a key, never a prototype.
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [cleanText(k), cleanDeep(v, depth + 1)]));
}
