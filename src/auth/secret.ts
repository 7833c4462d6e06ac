/**
 * The JWT signing secret. Configured secrets win; in development without one, a random secret is
 * generated once and kept under the data directory so tokens survive a restart.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createLogger } from "../../protocol/logger.ts";
import type { Config } from "../config.ts";

const log = createLogger("auth");
export const GENERATED_SECRET_FILE = "jwt-secret";

export function resolveJwtSecret(config: Pick<Config, "jwtSecret" | "dataDir" | "nodeEnv">): string {
  if (config.jwtSecret) return config.jwtSecret;
  if (config.nodeEnv === "production") throw new Error("JWT_SECRET is required in production");
  const file = join(config.dataDir, GENERATED_SECRET_FILE);
  if (existsSync(file)) {
    const stored = readFileSync(file, "utf8").trim();
    if (stored.length >= 32) {
      log.warn("JWT_SECRET is not set: using the development secret stored in the data directory", { file });
      return stored;
    }
  }
  mkdirSync(config.dataDir, { recursive: true });
  const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url");
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  log.warn(
    "JWT_SECRET is not set: GENERATED a development secret and stored it in the data directory. " +
      "Set JWT_SECRET (≥ 32 characters) before running in production.",
    { file },
  );
  return secret;
}
