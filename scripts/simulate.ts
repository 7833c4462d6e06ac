/**
 * A customer on demand: sends an inbound WhatsApp message to a running server through its real
 * webhook path, signed with the app secret of the server's configuration (WHATSAPP_APP_SECRET, or
 * the development secret under DATA_DIR: src/http/webhooks/app-secret.ts).
 *
 *   bun run simulate -- --from +15550001111 --name "Maria" "Hello"
 *   bun run simulate -- --from +15550001111 --image photo.jpg "a caption"
 *
 * Options: --from NUMBER (required), --name NAME, --image FILE (JPEG or PNG, at most 5 MB),
 * --url http://host:port (default: HOST and PORT of the configuration), --phone-number-id ID
 * (default WHATSAPP_PHONE_NUMBER_ID). An image travels as WhatsApp sends it: a media id, not the
 * bytes; the file is copied to DATA_DIR/sandbox-media/<media id> for a sandbox media fetch.
 * Exit code 0 when the server stored the message, 1 when it refused or stored nothing, 2 on bad usage.
 */
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../src/config.ts";
import { resolveWebhookAppSecret } from "../src/http/webhooks/app-secret.ts";
import { SIGNATURE_HEADER, signPayload } from "../src/http/webhooks/signature.ts";
import {
  normalizeWhatsappId,
  SANDBOX_MEDIA_DIR,
  type SimulatedImage,
  simulatedWebhook,
} from "../src/sandbox/customer.ts";
import { API_PATHS } from "../src/shared/api.ts";

/** WhatsApp's inbound image types and size limit. */
const IMAGE_TYPES: Record<string, string> = {
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".png": "image/png",
};
const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

function fail(message: string, code = 2): never {
  console.error(`simulate: ${message}`);
  process.exit(code);
}

let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
const OPTIONS = {
  from: { type: "string" },
  name: { type: "string" },
  image: { type: "string" },
  url: { type: "string" },
  "phone-number-id": { type: "string" },
} as const;
try {
  parsed = parseArgs({ options: OPTIONS, allowPositionals: true });
} catch (err) {
  fail((err as Error).message);
}
const { values, positionals } = parsed;
const text = positionals.join(" ");
if (!values.from) fail('--from is required, e.g. --from +15550001111 "Hello"');
const from = normalizeWhatsappId(values.from);
if (!from) fail(`--from must be a phone number in international format (got "${values.from}")`);
if (!values.image && text.trim() === "") fail("the message text is required (or --image FILE)");

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  fail(err instanceof ConfigError ? err.message : String(err));
}
const secret = resolveWebhookAppSecret(config);
if (!secret) fail("WHATSAPP_APP_SECRET is not set: the server refuses unsigned webhooks");
const base = (
  values.url ?? `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${config.port}`
).replace(/\/+$/, "");

let image: SimulatedImage | undefined;
if (values.image) {
  const mimeType = IMAGE_TYPES[extname(values.image).toLowerCase()];
  if (!mimeType) fail(`--image must be a .jpg, .jpeg or .png file (got "${values.image}")`);
  let size: number;
  try {
    size = statSync(values.image).size;
  } catch {
    fail(`cannot read --image ${values.image}`);
  }
  if (size > MAX_IMAGE_BYTES) fail(`--image is larger than ${MAX_IMAGE_BYTES} bytes`);
  const sha256 = createHash("sha256").update(readFileSync(values.image)).digest("hex");
  const mediaId = `sandbox-${sha256.slice(0, 32)}`;
  const dir = join(config.dataDir, SANDBOX_MEDIA_DIR);
  mkdirSync(dir, { recursive: true });
  copyFileSync(values.image, join(dir, mediaId));
  image = { mediaId, mimeType, sha256, ...(text ? { caption: text } : {}) };
}

const body = JSON.stringify(
  simulatedWebhook({
    phoneNumberId: values["phone-number-id"] ?? config.whatsappPhoneNumberId,
    from,
    name: values.name,
    ...(image ? { image } : { text }),
  }),
);
let res: Response;
try {
  res = await fetch(`${base}${API_PATHS.whatsappWebhook}`, {
    method: "POST",
    headers: { "content-type": "application/json", [SIGNATURE_HEADER]: signPayload(secret, body) },
    body,
    signal: AbortSignal.timeout(10_000),
  });
} catch (err) {
  fail(`cannot reach ${base}: ${(err as Error).message}`, 1);
}
const answer = (await res.json().catch(() => null)) as { stored_messages?: number } | null;
if (!res.ok) fail(`the server answered ${res.status}: ${JSON.stringify(answer)}`, 1);
if (!answer?.stored_messages)
  fail(
    `the server stored nothing (is ${from} routed to an organization? answer: ${JSON.stringify(answer)})`,
    1,
  );
console.log(
  `sent: +${from}${values.name ? ` (${values.name})` : ""} → ${base}: ${image ? `image ${image.mediaId}` : JSON.stringify(text)}`,
);
