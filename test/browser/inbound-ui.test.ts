/**
 * The inbox's inbound pieces in headless Chromium against the real server (sandbox channel, service
 * window enforced): the window's state above the send box, the template form when it is closed, and
 * the sandbox's "simulate customer" panel, whose message reopens the window live.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { eq } from "drizzle-orm";
import type { Browser, Page } from "playwright-core";
import { conversations } from "../../db/schema.ts";
import { DEMO_CONTACT_WHATSAPP_ID } from "../../src/seed.ts";
import { SERVICE_WINDOW_MS } from "../../src/services/service-window.ts";
import { type Backend, DEMO_ADMIN_EMAIL, DEMO_PASSWORD, startBackend } from "../client/support/backend.ts";
import { hasChromium, launchChromium } from "./support/chromium.ts";

const STEP_TIMEOUT = 10_000;
const OUTPUT_DIR = resolve(import.meta.dir, "../../test-output");

describe.skipIf(!hasChromium())("inbound pieces of the inbox in Chromium", () => {
  let backend: Backend;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await mkdir(OUTPUT_DIR, { recursive: true });
    backend = await startBackend({ webUi: true, env: { SERVICE_WINDOW_ENFORCED: "true" } });
    // The demo contact last wrote 25 hours ago: the window is closed when the inbox opens.
    await backend.running.ctx.database.db
      .update(conversations)
      .set({ lastInboundAt: new Date(Date.now() - SERVICE_WINDOW_MS - 3_600_000) })
      .where(eq(conversations.id, backend.conversationId));
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
    page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT);
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await page.goto(`${backend.url}/#conversation=${backend.conversationId}`);
    await page.getByTestId("login-email").fill(DEMO_ADMIN_EMAIL);
    await page.getByTestId("login-password").fill(DEMO_PASSWORD);
    await page.getByTestId("login-submit").click();
    await page.locator(`[data-testid=thread][data-conversation-id="${backend.conversationId}"]`).waitFor();
  }, 90_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await backend?.stop();
  }, 30_000);

  test("a closed window says so, refuses free-form text and sends a template", async () => {
    await page.locator('[data-testid=service-window][data-state="closed"]').waitFor();
    expect(await page.getByTestId("service-window-status").textContent()).toContain("closed");
    await page.getByTestId("composer-input").fill("free-form after 25 hours");
    await page.getByTestId("composer-send").click();
    await page.getByTestId("composer-error").filter({ hasText: "service window" }).waitFor();
    await page.getByTestId("template-name").fill("order_update");
    await page.getByTestId("template-send").click();
    await page.locator("[data-testid=message-text]", { hasText: "[template order_update]" }).waitFor();
    const file = join(OUTPUT_DIR, "browser-service-window-closed.png");
    await page.screenshot({ path: file });
    expect((await Bun.file(file).stat()).size).toBeGreaterThan(1000);
  }, 30_000);

  test("the sandbox panel makes the customer write in, which reopens the window live", async () => {
    await page.getByTestId("simulate-from").fill(`+${DEMO_CONTACT_WHATSAPP_ID}`);
    await page.getByTestId("simulate-text").fill("Are you there?");
    await page.getByTestId("simulate-send").click();
    await page.locator("[data-testid=message-text]", { hasText: "Are you there?" }).waitFor();
    await page.locator('[data-testid=service-window][data-state="open"]').waitFor();
    expect(await page.getByTestId("service-window-status").textContent()).toContain("23 h 59 min left");
    expect(await page.getByTestId("template-send").isVisible()).toBe(false);
    expect(pageErrors).toEqual([]);
  }, 30_000);
});
