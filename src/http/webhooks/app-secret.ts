/**
 * The key of the webhook's X-Hub-Signature-256. WHATSAPP_APP_SECRET wins; in development with the
 * sandbox channel and no secret, one is generated once and kept under the data directory (like the
 * JWT secret), so `bun run start` and `bun run simulate` agree on it with no setup. Elsewhere no
 * secret means webhooks are refused.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../config.ts";

export const GENERATED_APP_SECRET_FILE = "whatsapp-app-secret";

export function resolveWebhookAppSecret(
  config: Pick<Config, "whatsappAppSecret" | "dataDir" | "nodeEnv" | "channel">,
): string | undefined {
  if (config.whatsappAppSecret) return config.whatsappAppSecret;
  if (config.nodeEnv !== "development" || config.channel !== "sandbox") return undefined;
  const file = join(config.dataDir, GENERATED_APP_SECRET_FILE);
  if (existsSync(file)) {
    const stored = readFileSync(file, "utf8").trim();
    if (stored) return stored;
  }
  mkdirSync(config.dataDir, { recursive: true });
  const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
