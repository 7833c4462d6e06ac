/**
 * Headless Chromium for the browser tests: Debian's `chromium` driven by playwright-core. Outside CI a
 * missing binary skips the suite with a visible warning; in CI (CI=true, .ci/run installs it) it fails.
 */
import { type Browser, chromium } from "playwright-core";
import { requireBinary } from "../../support/services.ts";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

/** True when the browser suite can run; throws in CI when Chromium is missing. */
export function hasChromium(): boolean {
  return requireBinary("Chromium", "apt-get install chromium, or set CHROMIUM_PATH", CHROMIUM_PATH) !== null;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
}
