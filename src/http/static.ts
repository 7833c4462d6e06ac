/**
 * Serves the web UI at "/" (src/web/ui.ts decides which): a prebuilt folder, or the files bundled in
 * memory at start-up. Only the UI's own files are served: the decoded path is resolved and must stay
 * under the root (no "..", no absolute paths, no NUL). Unknown paths without an extension get
 * index.html so client-side routes work.
 */
import { resolve, sep } from "node:path";
import type { Context } from "hono";
import type { WebUi } from "../web/ui.ts";
import { errorBody, HTTP_ERROR_CODES } from "./errors.ts";

const CACHE_HTML = "no-cache";
const CACHE_ASSET = "public, max-age=300";

type Handler = (c: Context) => Promise<Response>;
/** A file of the UI by its path relative to the root ("index.html", "app.js"), or null. */
type Lookup = (relative: string) => Promise<Blob | null>;

const notFound = (c: Context) => c.json(errorBody(HTTP_ERROR_CODES.notFound, "not found"), 404);

function serveFrom(lookup: Lookup): Handler {
  return async (c) => {
    if (c.req.method !== "GET" && c.req.method !== "HEAD") return notFound(c);
    let path: string;
    try {
      path = decodeURIComponent(new URL(c.req.url).pathname);
    } catch {
      return notFound(c);
    }
    if (path.includes("\0") || path.includes("\\")) return notFound(c);
    const relative = path === "/" ? "index.html" : path.replace(/^\/+/, "");
    // A path that climbs (..) is refused outright, never answered with index.html.
    if (relative.split("/").includes("..")) return notFound(c);
    let name = relative;
    let file = await lookup(relative);
    if (!file) {
      if (/\.[a-z0-9]+$/i.test(relative)) return notFound(c);
      name = "index.html";
      file = await lookup(name);
      if (!file) return notFound(c);
    }
    return new Response(c.req.method === "HEAD" ? null : file, {
      headers: {
        "content-type": file.type,
        "cache-control": name.endsWith(".html") ? CACHE_HTML : CACHE_ASSET,
        "x-content-type-options": "nosniff",
      },
    });
  };
}

/** Files of a folder, never outside it. */
export function serveStatic(rootDir: string): Handler {
  const root = resolve(rootDir);
  return serveFrom(async (relative) => {
    const target = resolve(root, relative);
    if (target !== root && !target.startsWith(root + sep)) return null;
    const file = Bun.file(target);
    return (await file.exists()) ? file : null;
  });
}

/** Files held in memory, by exact name. */
export function serveFiles(files: ReadonlyMap<string, Blob>): Handler {
  return serveFrom(async (relative) => files.get(relative) ?? null);
}

/** The handler for "/" and the UI's assets; 404 for everything when no UI is served. */
export function serveWebUi(ui: WebUi): Handler {
  if (ui.kind === "folder") return serveStatic(ui.dir);
  if (ui.kind === "memory") return serveFiles(ui.files);
  return async (c) => notFound(c);
}
