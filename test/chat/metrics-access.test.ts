/**
 * /metrics guards: METRICS_TOKEN requires the bearer token (401 JSON without it, constant-time
 * comparison), METRICS_PORT moves the endpoint to its own listener on METRICS_HOST (default
 * 127.0.0.1) and off the public port. Without either, /metrics is open on the public port.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { type Harness, startHarness } from "./harness.ts";

const [pglite] = await backends();
const METRICS_TOKEN = "metrics-scrape-token-5a1f";

describe("METRICS_TOKEN", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(pglite!, { METRICS_TOKEN });
  }, SETUP_TIMEOUT_MS);
  afterAll(() => h?.close());

  test("without the token, or with another, /metrics answers 401 JSON and no figures", async () => {
    for (const authorization of [
      undefined,
      "Bearer wrong-token",
      `Basic ${METRICS_TOKEN}`,
      `Bearer ${METRICS_TOKEN}x`,
    ]) {
      const res = await fetch(`${h.url}/metrics`, { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
      const body = await res.text();
      expect(JSON.parse(body)).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
      expect(body).not.toContain("switchboard_");
    }
  });

  test("with the bearer token it answers the Prometheus text", async () => {
    const res = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    expect(await res.text()).toContain("switchboard_");
  });
});

describe("METRICS_PORT", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(pglite!, { METRICS_PORT: "0" });
  }, SETUP_TIMEOUT_MS);
  afterAll(() => h?.close());

  test("/metrics is served on its own listener on 127.0.0.1 and no longer on the public port", async () => {
    const url = h.server.metricsUrl;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(url!).port).not.toBe(new URL(h.url).port);
    const res = await fetch(url!);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("switchboard_");
    const publicRes = await fetch(`${h.url}/metrics`);
    expect(publicRes.status).toBe(404);
    expect(await publicRes.text()).not.toContain("switchboard_");
  });

  test("the metrics listener serves nothing else", async () => {
    const base = new URL(h.server.metricsUrl!);
    for (const path of ["/", "/health", "/api/v1/conversations", "/metrics/x"]) {
      const res = await fetch(new URL(path, base));
      expect(res.status).toBe(404);
    }
    expect((await fetch(h.server.metricsUrl!, { method: "POST" })).status).toBe(404);
  });
});

describe("no guard", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(pglite!);
  }, SETUP_TIMEOUT_MS);
  afterAll(() => h?.close());

  test("/metrics is open on the public port", async () => {
    expect(h.server.metricsUrl).toBeNull();
    const res = await fetch(`${h.url}/metrics`);
    expect(res.status).toBe(200);
  });
});
