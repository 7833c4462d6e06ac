import { afterAll, describe, expect, test } from "bun:test";
import { get, handshake, startEngine } from "./helpers.ts";

describe("engine CORS with an allowlist and credentials", () => {
  const t = startEngine({
    cors: { origin: ["https://app.example", /\.trusted\.example$/], credentials: true, maxAge: 600 },
  });
  afterAll(() => t.close());

  test("a preflight is answered 204 with the allowed origin, methods and requested headers", async () => {
    const res = await get(t.url({ transport: "polling" }), {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-token",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("access-control-allow-methods")).toBe("GET,HEAD,PUT,PATCH,POST,DELETE");
    expect(res.headers.get("access-control-allow-headers")).toBe("content-type,x-token");
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("vary")).toContain("Origin");
    expect(await res.text()).toBe("");
  });

  test("allowed origins (string or RegExp) get the header on handshakes; others get none", async () => {
    const ok = await get(t.url({ transport: "polling" }), {
      headers: { origin: "https://a.trusted.example" },
    });
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://a.trusted.example");
    expect((await ok.text()).startsWith("0{")).toBe(true);
    const denied = await get(t.url({ transport: "polling" }), {
      headers: { origin: "https://evil.example" },
    });
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("error answers carry the CORS headers too, so the browser can read them", async () => {
    const res = await get(t.url({ transport: "nope" }), { headers: { origin: "https://app.example" } });
    expect(res.status).toBe(400);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
  });
});

describe("engine CORS wildcard", () => {
  const withCredentials = startEngine({ cors: { origin: "*", credentials: true } });
  const plain = startEngine({ cors: { origin: "*" } });
  afterAll(async () => {
    await withCredentials.close();
    await plain.close();
  });

  test("'*' is never sent together with credentials: the caller's origin is reflected instead", async () => {
    const res = await get(withCredentials.url({ transport: "polling" }), {
      headers: { origin: "https://x.example" },
    });
    expect(res.headers.get("access-control-allow-origin")).toBe("https://x.example");
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
  });

  test("without credentials '*' is answered as is", async () => {
    const res = await get(plain.url({ transport: "polling" }), { headers: { origin: "https://x.example" } });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });
});

describe("engine CORS with an origin function", () => {
  const t = startEngine({ cors: { origin: async (origin) => origin?.endsWith(".ok") ?? false } });
  afterAll(() => t.close());

  test("the function decides per request", async () => {
    const { sid } = await handshake(t, { origin: "https://a.ok" });
    const res = await get(t.url({ transport: "polling", sid }), {
      method: "POST",
      body: "4x",
      headers: { origin: "https://a.ok" },
    });
    expect(res.headers.get("access-control-allow-origin")).toBe("https://a.ok");
    const denied = await get(t.url({ transport: "polling" }), { headers: { origin: "https://a.bad" } });
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("engine CORS options the cors package also takes", () => {
  const t = startEngine({
    // `headers` is the cors package's other name for `allowedHeaders`; old browsers need a 200 preflight.
    cors: { origin: true, headers: ["my-header"], optionsSuccessStatus: 200 },
  });
  afterAll(() => t.close());

  test("headers is allowedHeaders and optionsSuccessStatus is the preflight's status", async () => {
    const res = await get(t.url({ transport: "polling" }), {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-headers": "x-other" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("access-control-allow-headers")).toBe("my-header");
    expect(await res.text()).toBe("");
  });
});

describe("engine without CORS", () => {
  const t = startEngine();
  afterAll(() => t.close());

  test("no CORS headers are sent and OPTIONS is not a handshake", async () => {
    const res = await get(t.url({ transport: "polling" }), { headers: { origin: "https://x.example" } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const options = await get(t.url({ transport: "polling" }), { method: "OPTIONS" });
    expect(await options.json()).toEqual({ code: 2, message: "Bad handshake method" });
  });
});
