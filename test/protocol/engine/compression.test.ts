import { afterAll, describe, expect, test } from "bun:test";
import { gunzipSync, inflateSync } from "node:zlib";
import { negotiateEncoding } from "../../../protocol/engine/http.ts";
import { get, handshake, nextConnection, startEngine, type TestEngine } from "./helpers.ts";

/** fetch without transparent decompression, to see the bytes on the wire. */
function rawGet(url: string, acceptEncoding: string): Promise<Response> {
  return get(url, { headers: { "accept-encoding": acceptEncoding }, decompress: false } as RequestInit);
}

async function sessionWith(t: TestEngine, payload: string) {
  const connected = nextConnection(t.engine);
  const { sid } = await handshake(t);
  const socket = await connected;
  socket.send(payload);
  return t.url({ transport: "polling", sid });
}

describe("engine HTTP compression of polling responses", () => {
  const t = startEngine();
  const big = "compressible ".repeat(200);
  afterAll(() => t.close());

  test("gzip when the client asks and the payload reaches the 1024-byte threshold", async () => {
    const res = await rawGet(await sessionWith(t, big), "gzip, deflate, br");
    expect(res.headers.get("content-encoding")).toBe("gzip");
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(bytes.byteLength).toBeLessThan(big.length);
    expect(gunzipSync(bytes).toString()).toBe(`4${big}`);
  });

  test("deflate (zlib format) when that is what the client prefers", async () => {
    const res = await rawGet(await sessionWith(t, big), "gzip;q=0.5, deflate");
    expect(res.headers.get("content-encoding")).toBe("deflate");
    expect(inflateSync(new Uint8Array(await res.arrayBuffer())).toString()).toBe(`4${big}`);
  });

  test("not below the threshold", async () => {
    const res = await rawGet(await sessionWith(t, "small"), "gzip");
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(await res.text()).toBe("4small");
  });

  test("not when the client does not accept it", async () => {
    const res = await rawGet(await sessionWith(t, big), "identity");
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(await res.text()).toBe(`4${big}`);
  });

  test("not when every packet asked for no compression", async () => {
    const connected = nextConnection(t.engine);
    const { sid } = await handshake(t);
    (await connected).send(big, { compress: false });
    const res = await rawGet(t.url({ transport: "polling", sid }), "gzip");
    expect(res.headers.get("content-encoding")).toBeNull();
  });
});

describe("engine with HTTP compression off", () => {
  const t = startEngine({ httpCompression: false });
  afterAll(() => t.close());

  test("large payloads go uncompressed", async () => {
    const big = "z".repeat(5000);
    const res = await rawGet(await sessionWith(t, big), "gzip");
    expect(res.headers.get("content-encoding")).toBeNull();
    expect((await res.text()).length).toBe(5001);
  });
});

describe("Accept-Encoding negotiation", () => {
  test("picks as engine.io's accepts(req).encodings() does: q-values, then the client's order, wildcard and q=0", () => {
    // Each answer is what accepts 1.3.8 (negotiator 0.6.3) gives engine.io 6.6 for that header.
    expect(negotiateEncoding("deflate, gzip", ["gzip", "deflate"])).toBe("deflate");
    expect(negotiateEncoding("gzip, deflate", ["gzip", "deflate"])).toBe("gzip");
    expect(negotiateEncoding("*, deflate;q=0.5", ["gzip", "deflate"])).toBe("gzip");
    expect(negotiateEncoding("gzip;q=0.2, deflate;q=0.8", ["gzip", "deflate"])).toBe("deflate");
    expect(negotiateEncoding("*", ["gzip", "deflate"])).toBe("gzip");
    expect(negotiateEncoding("gzip;q=0, *;q=0.5", ["gzip", "deflate"])).toBe("deflate");
    expect(negotiateEncoding("br", ["gzip", "deflate"])).toBeNull();
    expect(negotiateEncoding(null, ["gzip", "deflate"])).toBeNull();
  });
});
