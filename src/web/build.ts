/**
 * Builds the inbox page: `index.html`, `app.js` (src/web/app bundled with the stock socket.io-client
 * for the browser) and `styles.css`.
 *
 * The server bundles it IN MEMORY at start-up (about 100 ms; src/web/ui.ts), so neither the source
 * tree nor anything else must be writable. `bun run build` writes the same files into build/web (or
 * the folder given) for an operator who prefers to serve a prebuilt folder (WEB_DIST_DIR).
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";

/** Where `bun run build` writes by default: build/web at the package root (gitignored, not source). */
export const WEB_UI_BUILD_DIR = resolve(import.meta.dir, "..", "..", "build", "web");

/** The files a build produces; `index.html` answers `/`. */
export const WEB_UI_FILES = ["index.html", "app.js", "styles.css"] as const;

export interface WebUiBuildOptions {
  /** Minify app.js. Default true. */
  minify?: boolean;
}

/** The inbox page's files by name (no leading slash), ready to serve. */
export type WebUiFiles = ReadonlyMap<string, Blob>;

/** Why a bundle failed, as one line: the bundler's first message and where it points. */
export class WebUiBuildError extends Error {
  constructor(cause: unknown) {
    super(`web UI build failed: ${describeBundleFailure(cause)}`);
    this.name = "WebUiBuildError";
  }
}

interface BundleMessage {
  message?: string;
  position?: { file?: string; line?: number } | null;
}

function describeBundleFailure(cause: unknown): string {
  const messages = (cause as { errors?: BundleMessage[] } | null)?.errors ?? [];
  const first = messages[0];
  if (!first) return cause instanceof Error ? cause.message : String(cause);
  const where = first.position?.file
    ? ` (${first.position.file}${first.position.line && first.position.line > 0 ? `:${first.position.line}` : ""})`
    : "";
  const more = messages.length > 1 ? ` and ${messages.length - 1} more` : "";
  return `${first.message ?? "unknown error"}${where}${more}`.replace(/\s*\n\s*/g, " ");
}

/** Bundles the page in memory. Throws WebUiBuildError (one line, with the cause). */
export async function bundleWebUi(options: WebUiBuildOptions = {}): Promise<WebUiFiles> {
  let bundled: Blob;
  try {
    const result = await Bun.build({
      entrypoints: [join(import.meta.dir, "app", "main.ts")],
      target: "browser",
      format: "esm",
      minify: options.minify ?? true,
    });
    const entry = result.outputs.find((o) => o.kind === "entry-point");
    if (!result.success || !entry) throw { errors: result.logs };
    bundled = new Blob([await entry.arrayBuffer()], { type: "text/javascript;charset=utf-8" });
  } catch (err) {
    throw new WebUiBuildError(err);
  }
  const page = (name: string, type: string) =>
    Bun.file(join(import.meta.dir, name))
      .arrayBuffer()
      .then((bytes) => new Blob([bytes], { type }));
  return new Map<string, Blob>([
    ["index.html", await page("index.html", "text/html;charset=utf-8")],
    ["app.js", bundled],
    ["styles.css", await page("styles.css", "text/css;charset=utf-8")],
  ]);
}

/** Bundles the page and writes it into `outDir` (created if missing). */
export async function buildWebUi(
  outDir: string = WEB_UI_BUILD_DIR,
  options: WebUiBuildOptions = {},
): Promise<{ outDir: string; files: string[] }> {
  const dir = resolve(outDir);
  const files = await bundleWebUi(options);
  await mkdir(dir, { recursive: true });
  for (const [name, blob] of files) await Bun.write(join(dir, name), blob);
  return { outDir: dir, files: [...files.keys()] };
}

if (import.meta.main) {
  try {
    const built = await buildWebUi(process.argv[2] ?? WEB_UI_BUILD_DIR);
    console.log(`web UI built in ${built.outDir}: ${built.files.join(", ")}`);
  } catch (err) {
    console.error(err instanceof WebUiBuildError ? err.message : err);
    process.exit(1);
  }
}
