/**
 * The admin page in headless Chromium against the real server: the demo admin creates an agent
 * (the generated password is shown once), the agent logs in with it in another browser context;
 * the admin deactivates them and their open inbox is closed at once; the last admin cannot demote
 * themselves. Screenshots go to test-output/.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { eq } from "drizzle-orm";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { conversations } from "../../db/schema.ts";
import { type Backend, DEMO_ADMIN_EMAIL, DEMO_PASSWORD, startBackend } from "../client/support/backend.ts";
import { hasChromium, launchChromium } from "./support/chromium.ts";

const OUTPUT_DIR = resolve(import.meta.dir, "../../test-output");
const STEP_TIMEOUT = 10_000;
const NEW_AGENT = "new-agent@demo.local";

const runnable = hasChromium();

describe.skipIf(!runnable)("admin page in Chromium", () => {
  let backend: Backend;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  let admin: Page;
  let generated = "";

  async function logIn(email: string, password: string, width = 1100): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 760 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT);
    page.on("pageerror", (err) => pageErrors.push(`${email}: ${err.message}`));
    await page.goto(`${backend.url}/`);
    await page.getByTestId("login-email").fill(email);
    await page.getByTestId("login-password").fill(password);
    await page.getByTestId("login-submit").click();
    await page
      .locator('[data-testid=connection-status][data-state="connected"]')
      .waitFor()
      .catch(async (err) => {
        throw new Error(`${err}\nPAGE: ${await page.locator("body").textContent()}`);
      });
    return page;
  }

  const row = (page: Page, email: string) => page.locator(`[data-testid=user-row][data-email="${email}"]`);

  beforeAll(async () => {
    await mkdir(OUTPUT_DIR, { recursive: true });
    backend = await startBackend({ webUi: true });
    // The demo conversation goes to the queue, so the new agent's inbox may open it (it is the only one).
    await backend.running.ctx.database.db
      .update(conversations)
      .set({ assignedAgentId: null, status: "queued" })
      .where(eq(conversations.id, backend.conversationId));
    browser = await launchChromium();
    admin = await logIn(DEMO_ADMIN_EMAIL, DEMO_PASSWORD);
  }, 90_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close().catch(() => {});
    await backend?.stop();
  }, 30_000);

  test("an admin opens the admin page from the inbox and sees the organization's users", async () => {
    await admin.getByTestId("admin-link").click();
    await admin.getByTestId("admin-page").waitFor();
    await row(admin, DEMO_ADMIN_EMAIL).waitFor();
    expect(await admin.getByTestId("user-row").count()).toBeGreaterThanOrEqual(2);
  });

  test("an admin creates an agent, sees the generated password once, and the agent logs in with it", async () => {
    await admin.getByTestId("new-user-email").fill(NEW_AGENT);
    await admin.getByTestId("new-user-name").fill("New Agent");
    await admin.getByTestId("new-user-role").selectOption("agent");
    await admin.getByTestId("new-user-submit").click();
    generated = (await admin.getByTestId("generated-password").textContent()) ?? "";
    expect(generated.length).toBeGreaterThanOrEqual(12);
    await row(admin, NEW_AGENT).waitFor();
    await admin.screenshot({ path: join(OUTPUT_DIR, "admin-created-agent.png") });

    const agent = await logIn(NEW_AGENT, generated);
    expect(await agent.getByTestId("current-user").textContent()).toContain("New Agent (agent)");
    // Agents get no link to the admin page.
    expect(await agent.getByTestId("admin-link").count()).toBe(0);

    // Deactivated from the admin page: the agent's open inbox is closed at once.
    await row(admin, NEW_AGENT).getByTestId("deactivate-user").click();
    await row(admin, NEW_AGENT).and(admin.locator('[data-active="false"]')).waitFor();
    await agent.getByTestId("login-form").waitFor();
    await agent.getByTestId("login-email").fill(NEW_AGENT);
    await agent.getByTestId("login-password").fill(generated);
    await agent.getByTestId("login-submit").click();
    await expect(
      agent
        .getByTestId("login-error")
        .filter({ hasText: "disabled" })
        .waitFor()
        .then(() => true),
    ).resolves.toBeTrue();
  });

  test("the server's refusals are shown: the last admin cannot demote themselves", async () => {
    await row(admin, DEMO_ADMIN_EMAIL).getByTestId("user-role").selectOption("viewer");
    await admin.getByTestId("admin-error").filter({ hasText: "last active org_admin" }).waitFor();
    // The list is reloaded from the server: the role is still org_admin.
    expect(await row(admin, DEMO_ADMIN_EMAIL).getByTestId("user-role").inputValue()).toBe("org_admin");
  });

  test("a password reset shows the new password once, and it works", async () => {
    await row(admin, NEW_AGENT).getByTestId("activate-user").click();
    await row(admin, NEW_AGENT).and(admin.locator('[data-active="true"]')).waitFor();
    await row(admin, NEW_AGENT).getByTestId("reset-password").click();
    const fresh = (await admin.getByTestId("generated-password").textContent()) ?? "";
    expect(fresh).not.toBe(generated);
    const agent = await logIn(NEW_AGENT, fresh);
    expect(await agent.getByTestId("current-user").textContent()).toContain("agent");
  });

  test("the page works on a 390 px wide phone screen", async () => {
    const phone = await logIn(DEMO_ADMIN_EMAIL, DEMO_PASSWORD, 390);
    await phone.getByTestId("admin-link").click();
    await phone.getByTestId("admin-page").waitFor();
    await row(phone, NEW_AGENT).waitFor();
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    await phone.screenshot({ path: join(OUTPUT_DIR, "admin-phone.png") });
  });

  test("no page threw", () => {
    expect(pageErrors).toEqual([]);
  });
});
