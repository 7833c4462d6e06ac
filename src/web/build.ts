/**
 * Builds the inbox page into a folder of static files the server serves at `/`:
 * `index.html`, `app.js` (src/web/app bundled with the stock socket.io-client for the browser) and
 * `styles.css`. The backend calls `buildWebUi()` at start-up (about 100 ms), so `bun run start`
 * needs no separate build step; `bun src/web/build.ts [outDir]` builds by hand.
 */
import { copyFile, mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";

/** Where the assets go by default (gitignored). */
export const WEB_UI_DIST_DIR = resolve(import.meta.dir, "dist");

/** The files a build produces, relative to its folder; `index.html` answers `/`. */
export const WEB_UI_FILES = ["index.html", "app.js", "styles.css"] as const;

export interface WebUiBuildOptions {
  /** Minify app.js. Default true. */
  minify?: boolean;
  /** Write a linked source map (app.js.map) for debugging. Default false. */
  sourcemap?: boolean;
}

export interface WebUiBuild {
  /** Absolute path of the folder written. */
  outDir: string;
  /** Files written, relative to `outDir`. */
  files: string[];
}

/** Bundles and copies the inbox page into `outDir` (created if missing). Throws with the bundler's messages on failure. */
export async function buildWebUi(
  outDir: string = WEB_UI_DIST_DIR,
  options: WebUiBuildOptions = {},
): Promise<WebUiBuild> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const result = await Bun.build({
    entrypoints: [join(import.meta.dir, "app", "main.ts")],
    outdir: dir,
    naming: "app.js",
    target: "browser",
    format: "esm",
    minify: options.minify ?? true,
    sourcemap: options.sourcemap ? "linked" : "none",
  });
  if (!result.success) {
    throw new AggregateError(result.logs, `web UI build failed: ${result.logs.map(String).join("\n")}`);
  }
  await copyFile(join(import.meta.dir, "index.html"), join(dir, "index.html"));
  await copyFile(join(import.meta.dir, "styles.css"), join(dir, "styles.css"));
  const files: string[] = [...WEB_UI_FILES];
  if (options.sourcemap) files.push("app.js.map");
  return { outDir: dir, files };
}

if (import.meta.main) {
  const built = await buildWebUi(process.argv[2] ?? WEB_UI_DIST_DIR);
  console.log(`web UI built in ${built.outDir}: ${built.files.join(", ")}`);
}
