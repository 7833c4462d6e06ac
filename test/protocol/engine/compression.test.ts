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
  test("prefers gzip on a tie, honours q-values, wildcard and q=0", () => {
    expect(negotiateEncoding("deflate, gzip")).toBe("gzip");
    expect(negotiateEncoding("gzip;q=0.2, deflate;q=0.8")).toBe("deflate");
    expect(negotiateEncoding("*")).toBe("gzip");
    expect(negotiateEncoding("gzip;q=0, *;q=0.5")).toBe("deflate");
    expect(negotiateEncoding("br")).toBeNull();
    expect(negotiateEncoding(null)).toBeNull();
  });
});
