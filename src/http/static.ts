/**
 * Serves the built web UI (src/web's buildWebUi output) at "/". Only files inside the folder are
 * served: the decoded path is resolved and must stay under the root (no "..", no absolute paths,
 * no NUL). Unknown paths without an extension get index.html so client-side routes work.
 */
import { resolve, sep } from "node:path";
import type { Context } from "hono";
import { errorBody, HTTP_ERROR_CODES } from "./errors.ts";

const CACHE_HTML = "no-cache";
const CACHE_ASSET = "public, max-age=300";

export function serveStatic(rootDir: string): (c: Context) => Promise<Response> {
  const root = resolve(rootDir);
  const notFound = (c: Context) => c.json(errorBody(HTTP_ERROR_CODES.notFound, "not found"), 404);

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
    const target = resolve(root, relative);
    if (target !== root && !target.startsWith(root + sep)) return notFound(c);
    let file = Bun.file(target);
    if (!(await file.exists())) {
      if (/\.[a-z0-9]+$/i.test(relative)) return notFound(c);
      file = Bun.file(resolve(root, "index.html"));
      if (!(await file.exists())) return notFound(c);
    }
    const isHtml = file.name?.endsWith(".html") ?? false;
    return new Response(c.req.method === "HEAD" ? null : file, {
      headers: {
        "content-type": file.type,
        "cache-control": isHtml ? CACHE_HTML : CACHE_ASSET,
        "x-content-type-options": "nosniff",
      },
    });
  };
}
