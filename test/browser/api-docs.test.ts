/**
 * The API reference page (/api/docs) in headless Chromium: it renders one entry per operation of the
 * OpenAPI document, loads nothing from another host, and its "try it" form logs in against the
 * live server and keeps the token for the next calls.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { type Backend, DEMO_ADMIN_EMAIL, DEMO_PASSWORD, startBackend } from "../client/support/backend.ts";
import { hasChromium, launchChromium } from "./support/chromium.ts";

const runnable = hasChromium();

describe.skipIf(!runnable)("API reference page in Chromium", () => {
  let backend: Backend;
  let browser: Browser;
  let page: Page;
  const foreignRequests: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    backend = await startBackend();
    browser = await launchChromium();
    page = await browser.newPage();
    page.on("request", (req) => {
      if (!req.url().startsWith(backend.url) && !req.url().startsWith("data:"))
        foreignRequests.push(req.url());
    });
    page.on("pageerror", (err) => pageErrors.push(String(err)));
    await page.goto(`${backend.url}/api/docs`);
    await page.waitForSelector("details[data-operation]");
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await backend?.stop();
  });

  test("one entry per operation of the document, nothing from another host, no script error", async () => {
    const doc = (await (await fetch(`${backend.url}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    const operations = Object.values(doc.paths).flatMap((item) =>
      Object.values(item).map((op) => op.operationId),
    );
    const shown = await page
      .locator("details[data-operation]")
      .evaluateAll((nodes) => nodes.map((n) => n.getAttribute("data-operation")));
    expect(shown.sort()).toEqual(operations.sort());
    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  test("try it: login answers 200 and fills the token, which the next call then uses", async () => {
    const login = page.locator("details[data-operation=login]");
    await login.locator("summary").click();
    await login
      .locator("textarea")
      .fill(JSON.stringify({ email: DEMO_ADMIN_EMAIL, password: DEMO_PASSWORD }));
    await login.locator("button").click();
    await page.waitForFunction(() =>
      /^200 /.test(document.querySelector("details[data-operation=login] pre")?.textContent ?? ""),
    );
    expect(await page.locator("#token").inputValue()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

    const me = page.locator("details[data-operation=me]");
    await me.locator("summary").click();
    await me.locator("button").click();
    await page.waitForFunction(() =>
      /^\d{3} /.test(document.querySelector("details[data-operation=me] pre")?.textContent ?? ""),
    );
    const answer = (await me.locator("pre").textContent()) ?? "";
    expect(answer.startsWith("200 ")).toBe(true);
    expect(answer).toContain(DEMO_ADMIN_EMAIL);
  });
});
