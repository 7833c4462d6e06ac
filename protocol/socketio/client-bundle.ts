/**
 * `serveClient`: the browser bundles of the installed `socket.io-client` package under the server's
 * path (`/socket.io/socket.io.min.js` and friends), as socket.io serves its copy of them: the same
 * eight file names and nothing else, `Cache-Control: public, max-age=0`, a quoted version as
 * `ETag`, 304 for a matching `If-None-Match` (strong or weak), the CORS headers of the `cors`
 * option, and the body compressed as the request accepts (br, gzip or deflate).
 *
 * socket.io tags the files with its own version because it ships a copy; here they come from
 * socket.io-client itself, so the tag is socket.io-client's version, which changes exactly when the
 * files do.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { corsHeaders } from "../engine/cors.ts";
import { negotiateEncoding } from "../engine/http.ts";
import type { CorsOptions } from "../engine/options.ts";
import { createLogger } from "../logger.ts";

const log = createLogger("socketio");

/** The files socket.io serves (its CLIENT_FILES). */
export const CLIENT_FILES: ReadonlySet<string> = new Set([
  "socket.io.esm.min.js",
  "socket.io.esm.min.js.map",
  "socket.io.js",
  "socket.io.js.map",
  "socket.io.min.js",
  "socket.io.min.js.map",
  "socket.io.msgpack.min.js",
  "socket.io.msgpack.min.js.map",
]);

type Encoding = "br" | "gzip" | "deflate" | "identity";

type Bytes = Uint8Array<ArrayBuffer>;

const BUNDLE_ENCODINGS: readonly Exclude<Encoding, "identity">[] = ["br", "gzip", "deflate"];

const COMPRESS: Record<Exclude<Encoding, "identity">, (data: Bytes) => Bytes> = {
  br: (data) => new Uint8Array(brotliCompressSync(data)),
  gzip: (data) => new Uint8Array(gzipSync(data)),
  deflate: (data) => new Uint8Array(deflateSync(data)),
};

/** The encoding socket.io picks for a bundle (`accepts(req).encodings(["br", "gzip", "deflate"])`). */
export function pickEncoding(acceptEncoding: string | null): Encoding {
  return negotiateEncoding(acceptEncoding, BUNDLE_ENCODINGS) ?? "identity";
}

/** Where the installed socket.io-client keeps its bundles, and its version; null when it is absent. */
function locateClient(): { dist: string; version: string } | null {
  try {
    const require = createRequire(import.meta.url);
    const manifest = require.resolve("socket.io-client/package.json");
    const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version: string };
    return { dist: join(dirname(manifest), "dist"), version };
  } catch {
    return null;
  }
}

export class ClientBundle {
  private located: { dist: string; version: string } | null | undefined;
  /** File bytes by name and encoding, read and compressed on first request. */
  private readonly cache = new Map<string, Bytes>();

  constructor(
    /** The server's path, with its trailing slash ("/socket.io/"). */
    private readonly path: string,
    private readonly cors: CorsOptions | false,
  ) {}

  /** The client file `req` asks for, or undefined when it is not one of them. */
  match(req: Request): string | undefined {
    const url = req.url;
    const start = url.indexOf("/", url.indexOf("//") + 2);
    if (start === -1 || !url.startsWith(this.path, start)) return undefined;
    const rest = url.slice(start + this.path.length);
    const query = rest.indexOf("?");
    const name = query === -1 ? rest : rest.slice(0, query);
    return CLIENT_FILES.has(name) ? name : undefined;
  }

  /** The answer for client file `name`, or undefined when socket.io-client is not installed. */
  async serve(req: Request, name: string): Promise<Response | undefined> {
    const client = this.client();
    if (client === null) return undefined;
    const headers: Record<string, string> = this.cors ? await corsHeaders(this.cors, req) : {};
    const etag = `"${client.version}"`;
    const ifNoneMatch = req.headers.get("if-none-match");
    if (ifNoneMatch === etag || ifNoneMatch === `W/${etag}`)
      return new Response(null, { status: 304, headers });
    const encoding = pickEncoding(req.headers.get("accept-encoding"));
    headers["Cache-Control"] = "public, max-age=0";
    headers["Content-Type"] = `application/${name.endsWith(".map") ? "json" : "javascript"}; charset=utf-8`;
    headers.ETag = etag;
    if (encoding !== "identity") headers["Content-Encoding"] = encoding;
    return new Response(this.body(client.dist, name, encoding), { status: 200, headers });
  }

  private client(): { dist: string; version: string } | null {
    if (this.located === undefined) {
      this.located = locateClient();
      if (this.located === null)
        log.warn("serveClient: socket.io-client is not installed, its bundles are not served");
    }
    return this.located;
  }

  private body(dist: string, name: string, encoding: Encoding): Bytes {
    const key = `${encoding}:${name}`;
    let bytes = this.cache.get(key);
    if (bytes === undefined) {
      const raw = encoding === "identity" ? undefined : this.cache.get(`identity:${name}`);
      const plain = raw ?? new Uint8Array(readFileSync(join(dist, name)));
      if (encoding !== "identity") this.cache.set(`identity:${name}`, plain);
      bytes = encoding === "identity" ? plain : COMPRESS[encoding](plain);
      this.cache.set(key, bytes);
    }
    return bytes;
  }
}
