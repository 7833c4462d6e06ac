/**
 * `serveClient`: the bundles of the installed socket.io-client under the server's path, byte for
 * byte, with socket.io's headers (Cache-Control, Content-Type, a quoted-version ETag), 304 on a
 * matching If-None-Match, compression as accepted, and nothing else under that path.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { Server, type ServerOptions } from "../../../protocol/index.ts";
import { CLIENT_FILES, pickEncoding } from "../../../protocol/socketio/client-bundle.ts";

const manifest = createRequire(import.meta.url).resolve("socket.io-client/package.json");
const DIST = join(dirname(manifest), "dist");
const VERSION = (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((io) => io.close()));
});

function start(opts: ServerOptions = {}): string {
  const io = new Server(opts);
  servers.push(io);
  return `http://127.0.0.1:${io.listen(0, "127.0.0.1").port}`;
}

/** A request whose body arrives as sent (Bun's fetch would otherwise ask for and undo compression). */
function get(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { headers: { "accept-encoding": "identity", ...headers }, decompress: false });
}

describe("serveClient (default on)", () => {
  test("serves exactly socket.io's eight client files", () => {
    expect([...CLIENT_FILES].sort()).toEqual(
      [
        "socket.io.esm.min.js",
        "socket.io.esm.min.js.map",
        "socket.io.js",
        "socket.io.js.map",
        "socket.io.min.js",
        "socket.io.min.js.map",
        "socket.io.msgpack.min.js",
        "socket.io.msgpack.min.js.map",
      ].sort(),
    );
  });

  test("each file is byte-equal to the installed package's, with socket.io's headers", async () => {
    const url = start();
    for (const name of CLIENT_FILES) {
      const res = await get(`${url}/socket.io/${name}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("public, max-age=0");
      expect(res.headers.get("content-type")).toBe(
        `application/${name.endsWith(".map") ? "json" : "javascript"}; charset=utf-8`,
      );
      expect(res.headers.get("etag")).toBe(`"${VERSION}"`);
      expect(res.headers.get("content-encoding")).toBeNull();
      expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(DIST, name)))).toBe(true);
    }
  });

  test("a query string does not change the file", async () => {
    const url = start();
    const res = await get(`${url}/socket.io/socket.io.min.js?v=1`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(DIST, "socket.io.min.js")))).toBe(
      true,
    );
  });

  test("a matching If-None-Match, strong or weak, is answered 304 without a body", async () => {
    const url = start();
    for (const tag of [`"${VERSION}"`, `W/"${VERSION}"`]) {
      const res = await get(`${url}/socket.io/socket.io.js`, { "if-none-match": tag });
      expect(res.status).toBe(304);
      expect((await res.arrayBuffer()).byteLength).toBe(0);
    }
    expect((await get(`${url}/socket.io/socket.io.js`, { "if-none-match": '"0.0.0"' })).status).toBe(200);
  });

  test("the body is compressed as the request accepts", async () => {
    const url = start();
    const res = await get(`${url}/socket.io/socket.io.js`, { "accept-encoding": "gzip" });
    expect(res.headers.get("content-encoding")).toBe("gzip");
    const body = gunzipSync(Buffer.from(await res.arrayBuffer()));
    expect(body.equals(readFileSync(join(DIST, "socket.io.js")))).toBe(true);
    expect(pickEncoding("gzip;q=1, br;q=0.5")).toBe("gzip");
    expect(pickEncoding("br;q=0, deflate")).toBe("deflate");
    expect(pickEncoding("identity")).toBe("identity");
    expect(pickEncoding(null)).toBe("identity");
  });

  test("on equal q-values the client's order decides, as socket.io's accepts(req).encodings() does", async () => {
    const url = start();
    const res = await get(`${url}/socket.io/socket.io.js`, { "accept-encoding": "gzip,br,deflate" });
    expect(res.headers.get("content-encoding")).toBe("gzip");
    // Each answer below is what accepts 1.3.8 (negotiator 0.6.3) gives socket.io 4.8 for that header.
    expect(pickEncoding("gzip, deflate, br")).toBe("gzip");
    expect(pickEncoding("deflate, gzip")).toBe("deflate");
    expect(pickEncoding("*")).toBe("br");
    expect(pickEncoding("*, br;q=0.5")).toBe("gzip");
    expect(pickEncoding("gzip;q=0, *;q=0.5")).toBe("br");
    expect(pickEncoding("GZIP")).toBe("gzip");
  });

  test("nothing else under the path is served as a file", async () => {
    const url = start();
    for (const path of [
      "/socket.io/socket.io.js.gz",
      "/socket.io/package.json",
      "/socket.io/../package.json",
      "/socket.io/dist/socket.io.js",
      "/socket.io/socket.io.min.js/x",
      "/socket.io/socket.io.cjs",
    ]) {
      const res = await get(`${url}${path}`);
      expect(res.headers.get("content-type") ?? "").not.toContain("javascript");
      expect(res.status).not.toBe(200);
    }
  });

  test("the cors option applies to the files, as socket.io runs its cors middleware for them", async () => {
    const url = start({ cors: { origin: "https://app.example" } });
    const res = await get(`${url}/socket.io/socket.io.min.js`, { origin: "https://app.example" });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
  });

  test("io.handler(fallback) serves the files too, and hands other paths to the app", async () => {
    const io = new Server();
    servers.push(io);
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", ...io.handler(() => new Response("app")) });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      expect((await get(`${base}/socket.io/socket.io.min.js`)).status).toBe(200);
      expect(await (await get(`${base}/socket.io.min.js`)).text()).toBe("app");
    } finally {
      await server.stop(true);
    }
  });
});

describe("serveClient with a custom path", () => {
  test("the files are under the path, given without its trailing slash as socket.io users write it", async () => {
    const url = start({ path: "/custom" });
    expect((await get(`${url}/custom/socket.io.min.js`)).status).toBe(200);
    expect((await get(`${url}/socket.io/socket.io.min.js`)).status).toBe(404);
  });
});

describe("serveClient: false", () => {
  test("the files are not served; the path is the engine's", async () => {
    const url = start({ serveClient: false });
    const res = await get(`${url}/socket.io/socket.io.min.js`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: 0, message: "Transport unknown" });
  });
});
