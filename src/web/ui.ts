/**
 * Which web UI this server serves at "/", decided once at start-up:
 * - WEB_DIST_DIR set: that prebuilt folder (`bun run build`), when it holds an index.html;
 * - otherwise the page bundled in memory at start (nothing written to disk);
 * - nothing, with the one-line reason, when the folder is empty or the bundle fails.
 * The banner and /health report the same answer, so nothing advertises a UI that is not served.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { bundleWebUi, WebUiBuildError, type WebUiFiles } from "./build.ts";

export type WebUi =
  | { kind: "folder"; dir: string }
  | { kind: "memory"; files: WebUiFiles }
  | { kind: "none"; reason: string };

export async function loadWebUi(webDistDir: string | undefined, bundle: boolean): Promise<WebUi> {
  if (webDistDir !== undefined) {
    if (existsSync(join(webDistDir, "index.html"))) return { kind: "folder", dir: webDistDir };
    return {
      kind: "none",
      reason: `WEB_DIST_DIR ${webDistDir} has no index.html: run \`bun run build ${webDistDir}\` or unset WEB_DIST_DIR`,
    };
  }
  if (!bundle) return { kind: "none", reason: "the web UI is not built in this mode" };
  try {
    return { kind: "memory", files: await bundleWebUi() };
  } catch (err) {
    if (err instanceof WebUiBuildError) return { kind: "none", reason: err.message };
    throw err;
  }
}
