/**
 * The inbox page in headless Chromium against the real server (src/app.ts on PGlite in a temp dir,
 * sandbox channel): users of one organization (the demo admin and agent, plus a second admin so two
 * people can type at once) in separate browser contexts watch the same conversation. Screenshots go
 * to test-output/.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import {
  type Backend,
  DEMO_ADMIN_EMAIL,
  DEMO_AGENT_EMAIL,
  DEMO_PASSWORD,
  startBackend,
} from "../client/support/backend.ts";
import { hasChromium, launchChromium } from "./support/chromium.ts";

const OUTPUT_DIR = resolve(import.meta.dir, "../../test-output");
/** Bound of every single wait on the page. */
const STEP_TIMEOUT = 10_000;
/** A third user of the demo organization, so that two people can type at once. */
const SECOND_ADMIN_EMAIL = "second-admin@demo.local";

const runnable = hasChromium();

describe.skipIf(!runnable)("inbox page in Chromium", () => {
  let backend: Backend;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let admin: Page;
  let agent: Page;
  let secondAdmin: Page;
  const pageErrors: string[] = [];

  async function openInbox(email: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT);
    page.on("pageerror", (err) => pageErrors.push(`${email}: ${err.message}`));
    await page.goto(`${backend.url}/#conversation=${backend.conversationId}`);
    await page.getByTestId("login-email").fill(email);
    await page.getByTestId("login-password").fill(DEMO_PASSWORD);
    await page.getByTestId("login-submit").click();
    await page.locator('[data-testid=connection-status][data-state="connected"]').waitFor();
    await page.locator(`[data-testid=thread][data-conversation-id="${backend.conversationId}"]`).waitFor();
    return page;
  }

  /** Records every status a message element takes, in order (ticks can move faster than polling). */
  async function recordStatuses(page: Page): Promise<void> {
    await page.evaluate(() => {
      const seen: Record<string, string[]> = {};
      (globalThis as { statusLog?: Record<string, string[]> }).statusLog = seen;
      const note = (el: Element) => {
        const id = el.getAttribute("data-message-id");
        const status = el.getAttribute("data-status");
        if (!id || !status) return;
        const list = seen[id] ?? [];
        seen[id] = list;
        if (list.at(-1) !== status) list.push(status);
      };
      const root = document.querySelector("[data-testid=messages]");
      if (!root) throw new Error("no message list");
      new MutationObserver((records) => {
        for (const record of records) {
          if (record.type === "attributes") note(record.target as Element);
          for (const node of record.addedNodes)
            if (node instanceof Element && node.matches("[data-message-id]")) note(node);
        }
      }).observe(root, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ["data-status"],
      });
    });
  }

  const statusLog = (page: Page, messageId: string) =>
    page.evaluate(
      (id) => (globalThis as { statusLog?: Record<string, string[]> }).statusLog?.[id] ?? [],
      messageId,
    );

  const messageByText = (page: Page, text: string) =>
    page.locator("[data-testid=message]", {
      has: page.locator("[data-testid=message-text]", { hasText: text }),
    });

  beforeAll(async () => {
    await mkdir(OUTPUT_DIR, { recursive: true });
    backend = await startBackend({ webUi: true });
    browser = await launchChromium();
    admin = await openInbox(DEMO_ADMIN_EMAIL);
    agent = await openInbox(DEMO_AGENT_EMAIL);
    await backend.addUser(SECOND_ADMIN_EMAIL, "Second Admin", "org_admin");
    secondAdmin = await openInbox(SECOND_ADMIN_EMAIL);
  }, 90_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close().catch(() => {});
    await backend?.stop();
  }, 30_000);

  test("both users see the conversation and who they are", async () => {
    expect(await admin.getByTestId("current-user").textContent()).toContain("org_admin");
    expect(await agent.getByTestId("current-user").textContent()).toContain("agent");
    expect(await admin.getByTestId("conversation-item").count()).toBeGreaterThan(0);
  });

  test("the typing indicator names one typist, counts several, and clears when they go idle", async () => {
    const indicator = agent.getByTestId("typing-indicator");
    await admin.getByTestId("composer-input").pressSequentially("Hel", { delay: 30 });
    // The typist's display name from the seed, carried by user_typing (not "Teammate 1a2b").
    await expect(waitForText(indicator, /^Demo Admin is typing…$/)).resolves.toBeTrue();
    // The typist's own page never shows itself typing.
    expect(await admin.getByTestId("typing-indicator").textContent()).toBe("");
    await secondAdmin.getByTestId("composer-input").pressSequentially("Hi", { delay: 30 });
    await expect(waitForText(indicator, /^2 people are typing…$/)).resolves.toBeTrue();
    // 2 s idle → typing_stop from both → the indicator clears (well before the 5 s fallback would).
    await expect(waitForText(indicator, /^$/)).resolves.toBeTrue();
    await admin.getByTestId("composer-input").fill("");
    await secondAdmin.getByTestId("composer-input").fill("");
  }, 25_000);

  test("a message sent in one browser appears once in the other, and its ticks advance sent → delivered → read", async () => {
    await recordStatuses(admin);
    await recordStatuses(agent);
    const text = `Hello from the admin ${crypto.randomUUID().slice(0, 8)}`;
    await admin.getByTestId("composer-input").fill(text);
    await admin.getByTestId("composer-send").click();

    const onAgent = messageByText(agent, text);
    await onAgent.waitFor();
    const messageId = await onAgent.getAttribute("data-message-id");
    expect(messageId).toBeTruthy();
    // The sandbox channel reports sent → delivered → read; both pages follow it.
    await admin.locator(`[data-message-id="${messageId}"][data-status="read"]`).waitFor();
    await agent.locator(`[data-message-id="${messageId}"][data-status="read"]`).waitFor();
    for (const page of [admin, agent]) {
      const seen = await statusLog(page, messageId!);
      const order = ["pending", "sent", "delivered", "read"];
      expect(seen.at(-1)).toBe("read");
      // Forward only, never back.
      expect(seen.map((s) => order.indexOf(s))).toEqual(
        [...seen.map((s) => order.indexOf(s))].sort((a, b) => a - b),
      );
      expect(await page.locator(`[data-message-id="${messageId}"]`).count()).toBe(1);
    }
    expect(await statusLog(admin, messageId!)).toContain("delivered");
    const tick = admin.locator(`[data-message-id="${messageId}"] [data-testid=message-status]`);
    expect(await tick.textContent()).toBe("✓✓");
    expect(await tick.getAttribute("aria-label")).toBe("Read");
    // Read ticks are blue.
    expect(await tick.evaluate((el) => getComputedStyle(el).color)).toBe("rgb(52, 183, 241)");
    await admin.getByTestId("composer-input").waitFor();
    expect(await admin.getByTestId("composer-input").inputValue()).toBe("");
  }, 30_000);

  test("a failed message shows the channel's reason and a Retry button that sends it again; sends carry an Idempotency-Key", async () => {
    const keys: string[] = [];
    const retries: string[] = [];
    admin.on("request", (req) => {
      if (req.method() !== "POST") return;
      if (/\/messages$/.test(req.url())) keys.push(req.headers()["idempotency-key"] ?? "");
      if (/\/retry$/.test(req.url())) retries.push(req.url());
    });
    await recordStatuses(admin);
    const text = `This one #fail ${crypto.randomUUID().slice(0, 8)}`;
    await admin.getByTestId("composer-input").fill(text);
    await admin.getByTestId("composer-send").click();
    const onAdmin = messageByText(admin, text);
    await onAdmin.waitFor();
    const messageId = await onAdmin.getAttribute("data-message-id");
    const failed = admin.locator(`[data-message-id="${messageId}"][data-status="failed"]`);
    await failed.waitFor();
    const reason = failed.getByTestId("message-failure-reason");
    expect(await reason.textContent()).toContain("(sandbox_failure)");
    // The other watcher sees the reason too (from message:status).
    await agent
      .locator(`[data-message-id="${messageId}"][data-status="failed"] [data-testid=message-failure-reason]`)
      .waitFor();
    expect(keys.at(-1)).toMatch(/^[0-9a-f-]{36}$/);
    // The retry's answer reaches the page after the socket has told the whole story (pending, then
    // failed again): the page must end on the socket's newer news, not on the answer's "pending".
    const answered = Promise.withResolvers<void>();
    await admin.route(/\/retry$/, async (route) => {
      const response = await route.fetch();
      await admin.waitForFunction(
        (id: string) =>
          ((globalThis as { statusLog?: Record<string, string[]> }).statusLog?.[id] ?? []).filter(
            (s: string) => s === "failed",
          ).length >= 2,
        messageId as string,
        { timeout: 20_000 },
      );
      await route.fulfill({ response });
      answered.resolve();
    });
    await failed.getByTestId("message-retry").click();
    await answered.promise;
    // The sandbox refuses "#fail" every time: the same message fails again, once on screen.
    await admin
      .locator(`[data-message-id="${messageId}"][data-status="failed"] [data-testid=message-retry]`)
      .waitFor();
    // Still failed after the page handled the answer (it once showed "pending" forever here).
    await Bun.sleep(200);
    expect(await admin.locator(`[data-message-id="${messageId}"]`).getAttribute("data-status")).toBe(
      "failed",
    );
    expect(await statusLog(admin, messageId!)).toEqual(["pending", "failed", "pending", "failed"]);
    await admin.unroute(/\/retry$/);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toContain(`/messages/${messageId}/retry`);
    expect(await admin.locator(`[data-message-id="${messageId}"]`).count()).toBe(1);
  }, 30_000);

  test("a sent image is shown inline and another file is offered as a download", async () => {
    const login = await fetch(`${backend.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: DEMO_ADMIN_EMAIL, password: DEMO_PASSWORD }),
    });
    const token = ((await login.json()) as { access_token: string }).access_token;
    const sendFile = async (
      bytes: Uint8Array<ArrayBuffer>,
      type: string,
      messageType: string,
      caption: string,
    ) => {
      const up = await fetch(`${backend.url}/api/v1/media`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": type },
        body: bytes,
      });
      const { media } = (await up.json()) as { media: { id: string } };
      const res = await fetch(`${backend.url}/api/v1/conversations/${backend.conversationId}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ message_type: messageType, content: { media_id: media.id, caption } }),
      });
      expect(res.status).toBe(201);
    };
    const onePixelPng = Uint8Array.from(
      atob(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
      ),
      (ch) => ch.charCodeAt(0),
    );
    const caption = `pixel ${crypto.randomUUID().slice(0, 8)}`;
    await sendFile(onePixelPng, "image/png", "image", caption);
    const image = messageByText(agent, caption).getByTestId("message-image");
    await image.waitFor();
    const deadline = Date.now() + STEP_TIMEOUT;
    while ((await image.evaluate((el) => (el as HTMLImageElement).naturalWidth)) !== 1) {
      if (Date.now() > deadline) throw new Error("the image was not loaded");
      await Bun.sleep(50);
    }
    const docCaption = `report ${crypto.randomUUID().slice(0, 8)}`;
    await sendFile(new TextEncoder().encode("%PDF-1.4 test"), "application/pdf", "document", docCaption);
    await messageByText(agent, docCaption).getByTestId("message-download").waitFor();
  }, 30_000);

  test("a browser that lost its connection catches up through ?after= when it comes back", async () => {
    const agentContext = agent.context();
    const catchUps: string[] = [];
    agent.on("request", (req) => {
      if (/\/messages\?.*after=/.test(req.url())) catchUps.push(req.url());
    });
    await agentContext.setOffline(true);
    await agent.evaluate(() =>
      (
        globalThis as { switchboard?: { session: { socket: { dropTransport(): void } } } }
      ).switchboard?.session.socket.dropTransport(),
    );
    await agent.locator('[data-testid=connection-status]:not([data-state="connected"])').waitFor();

    const text = `Sent while the agent was offline ${crypto.randomUUID().slice(0, 8)}`;
    await admin.getByTestId("composer-input").fill(text);
    await admin.getByTestId("composer-send").click();
    await messageByText(admin, text).waitFor();
    await Bun.sleep(300);
    expect(await messageByText(agent, text).count()).toBe(0);

    await agentContext.setOffline(false);
    await agent
      .locator('[data-testid=connection-status][data-state="connected"]')
      .waitFor({ timeout: 15_000 });
    await messageByText(agent, text).waitFor();
    expect(await messageByText(agent, text).count()).toBe(1);
    expect(catchUps.length).toBeGreaterThan(0);
  }, 40_000);

  test("a new customer's first message makes its conversation appear in the admin's and the agent's list, unread", async () => {
    const name = `New Customer ${crypto.randomUUID().slice(0, 6)}`;
    const from = `49155${String(Date.now()).slice(-7)}`;
    // The path the WhatsApp webhook takes once the signature is checked.
    await backend.running.ctx.inbound.ingest({
      messages: [
        {
          phoneNumberId: backend.running.ctx.config.whatsappPhoneNumberId,
          whatsappMessageId: `wamid.browser.${from}`,
          from,
          contactName: name,
          at: new Date(),
          messageType: "text",
          content: { text: "Hi, is my order on its way?" },
        },
      ],
      statuses: [],
    });
    // A new conversation is queued: the agent finds it in the Queue tab (their default tab is Mine).
    await agent.getByTestId("tab-queue").click();
    for (const page of [admin, agent]) {
      const item = page.locator("[data-testid=conversation-item]", { hasText: name });
      await item.waitFor();
      // Newest activity first, and one unread message.
      await expect(
        waitForText(page.locator("[data-testid=conversation-item]").first(), new RegExp(name)),
      ).resolves.toBeTrue();
      expect(await item.getByLabel("1 unread").count()).toBe(1);
    }
  }, 30_000);

  test("a wrong password is refused on the login form", async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT);
    await page.goto(backend.url);
    await page.getByTestId("login-email").fill(DEMO_AGENT_EMAIL);
    await page.getByTestId("login-password").fill("not the password");
    await page.getByTestId("login-submit").click();
    await expect(waitForText(page.getByTestId("login-error"), /Wrong email or password/)).resolves.toBeTrue();
    expect(await page.getByTestId("connection-status").count()).toBe(0);
  });

  test("screenshots of both inboxes are saved with the test output", async () => {
    const files = [join(OUTPUT_DIR, "browser-inbox-admin.png"), join(OUTPUT_DIR, "browser-inbox-agent.png")];
    await admin.screenshot({ path: files[0] });
    await agent.screenshot({ path: files[1] });
    for (const file of files) expect((await Bun.file(file).stat()).size).toBeGreaterThan(1000);
    expect(pageErrors).toEqual([]);
  });
});

/** Polls an element's text until it matches (bounded by STEP_TIMEOUT); resolves true or throws. */
async function waitForText(locator: ReturnType<Page["getByTestId"]>, pattern: RegExp): Promise<true> {
  const deadline = Date.now() + STEP_TIMEOUT;
  let last = "";
  while (Date.now() < deadline) {
    last = ((await locator.textContent()) ?? "").trim();
    if (pattern.test(last)) return true;
    await Bun.sleep(50);
  }
  throw new Error(`text "${last}" did not match ${pattern} within ${STEP_TIMEOUT} ms`);
}
