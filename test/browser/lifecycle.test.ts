/**
 * The team inbox in headless Chromium against the real server: an agent claims from the queue and
 * it leaves the other agent's queue live; a transfer makes it appear live in the recipient's Mine
 * tab; resolve, and reopen by an inbound message; a demoted admin loses a colleague's open
 * conversation live; the layout holds on a 390 px wide screen.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { eq } from "drizzle-orm";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { contacts, conversations, users } from "../../db/schema.ts";
import { type Backend, DEMO_AGENT_EMAIL, DEMO_PASSWORD, startBackend } from "../client/support/backend.ts";
import { hasChromium, launchChromium } from "./support/chromium.ts";

const OUTPUT_DIR = resolve(import.meta.dir, "../../test-output");
const STEP_TIMEOUT = 10_000;
const BRUNO = "bruno@demo.local";
const CARLA = "carla@demo.local";

describe.skipIf(!hasChromium())("team inbox lifecycle in Chromium", () => {
  let backend: Backend;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  let ana: Page; // the demo agent
  let bruno: Page; // a second agent
  let carla: Page; // a second org_admin, demoted later
  let brunoId = "";
  let carlaId = "";
  let seq = 0;

  async function openInbox(email: string, width = 1100): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 760 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT);
    page.on("pageerror", (err) => pageErrors.push(`${email}: ${err.message}`));
    await page.goto(backend.url);
    await page.getByTestId("login-email").fill(email);
    await page.getByTestId("login-password").fill(DEMO_PASSWORD);
    await page.getByTestId("login-submit").click();
    await page.locator('[data-testid=connection-status][data-state="connected"]').waitFor();
    await page.getByTestId("inbox-tabs").waitFor();
    return page;
  }

  /** An inbound text message from `from` (through the path the verified webhook takes). */
  const inbound = (from: string, text: string, name?: string) =>
    backend.running.ctx.inbound.ingest({
      messages: [
        {
          phoneNumberId: backend.running.ctx.config.whatsappPhoneNumberId,
          whatsappMessageId: `wamid.lifecycle.${from}.${++seq}`,
          from,
          ...(name ? { contactName: name } : {}),
          at: new Date(),
          messageType: "text",
          content: { text },
        },
      ],
      statuses: [],
    });

  /** A new queued conversation of the demo organization with a first inbound message. */
  async function queuedConversation(name: string): Promise<string> {
    const from = `4917${String(Date.now()).slice(-6)}${++seq}`;
    await backend.running.ctx.inbound.ingest({
      messages: [
        {
          phoneNumberId: backend.running.ctx.config.whatsappPhoneNumberId,
          whatsappMessageId: `wamid.lifecycle.${from}`,
          from,
          contactName: name,
          at: new Date(),
          messageType: "text",
          content: { text: `Hello, this is ${name}` },
        },
      ],
      statuses: [],
    });
    const [row] = await backend.running.ctx.database.db
      .select({ id: conversations.id })
      .from(conversations)
      .innerJoin(contacts, eq(contacts.id, conversations.contactId))
      .where(eq(contacts.whatsappId, from));
    return row!.id;
  }

  const item = (page: Page, id: string) =>
    page.locator(`[data-testid=conversation-item][data-conversation-id="${id}"]`);
  const gone = (page: Page, id: string) => item(page, id).waitFor({ state: "detached" });
  const openConversation = async (page: Page, id: string) => {
    await item(page, id).click();
    await page.locator(`[data-testid=thread][data-conversation-id="${id}"]`).waitFor();
  };
  const systemLine = (page: Page, text: RegExp) =>
    page.locator("[data-testid=system-line]", { hasText: text }).waitFor();

  beforeAll(async () => {
    await mkdir(OUTPUT_DIR, { recursive: true });
    backend = await startBackend({ webUi: true });
    browser = await launchChromium();
    brunoId = await backend.addUser(BRUNO, "Bruno", "agent");
    carlaId = await backend.addUser(CARLA, "Carla", "org_admin");
    ana = await openInbox(DEMO_AGENT_EMAIL);
    bruno = await openInbox(BRUNO);
    carla = await openInbox(CARLA);
  }, 90_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close().catch(() => {});
    await backend?.stop();
  }, 30_000);

  test("an agent claims from the queue: it leaves the other agent's queue live and shows a system line", async () => {
    // All is for org_admins and viewers only.
    expect(await ana.getByTestId("tab-all").count()).toBe(0);
    expect(await carla.getByTestId("tab-all").count()).toBe(1);
    const id = await queuedConversation("Queue Customer");
    for (const page of [ana, bruno]) {
      await page.getByTestId("tab-queue").click();
      await item(page, id).waitFor();
    }
    const queueCount = async (page: Page) => Number(await page.getByTestId("tab-queue-count").textContent());
    const before = await queueCount(bruno);
    expect(before).toBeGreaterThanOrEqual(1);
    await openConversation(ana, id);
    await ana.getByTestId("action-claim").click();
    await gone(bruno, id);
    expect(await queueCount(bruno)).toBe(before - 1);
    await systemLine(ana, /Demo Agent claimed this conversation/);
    await ana.getByTestId("tab-mine").click();
    await item(ana, id).waitFor();
    expect(await ana.getByTestId("thread-state").textContent()).toContain("open");
  }, 30_000);

  test("a transfer makes the conversation appear live in the recipient's Mine tab", async () => {
    const id = await queuedConversation("Transfer Customer");
    await ana.getByTestId("tab-queue").click();
    await openConversation(ana, id);
    await ana.getByTestId("action-claim").click();
    await systemLine(ana, /claimed/);
    await bruno.getByTestId("tab-mine").click();
    // The picker lists teammates with a presence dot; Bruno is online.
    const option = ana.locator(`[data-testid=assign-picker] option[value="${brunoId}"]`);
    expect(await option.getAttribute("data-status")).toBe("online");
    expect(await option.textContent()).toContain("Bruno");
    await ana.getByTestId("assign-picker").selectOption(brunoId);
    await item(bruno, id).waitFor();
    // Handed over: Ana may no longer watch it; Bruno reads who did it in the thread.
    await ana.locator('[data-testid=thread][data-revoked="true"]').waitFor();
    await openConversation(bruno, id);
    await systemLine(bruno, /Demo Agent assigned this to Bruno/);
    // Outgoing messages carry the sending agent's name.
    await bruno.getByTestId("composer-input").fill("Taking over from here");
    await bruno.getByTestId("composer-send").click();
    const sent = bruno.locator("[data-testid=message]", { hasText: "Taking over from here" });
    expect(await sent.getByTestId("message-sender").textContent()).toBe("Bruno");
  }, 30_000);

  test("resolve, then an inbound message reopens the conversation for its assignee", async () => {
    const id = await queuedConversation("Resolve Customer");
    await bruno.getByTestId("tab-queue").click();
    await openConversation(bruno, id);
    await bruno.getByTestId("action-claim").click();
    await systemLine(bruno, /Bruno claimed/);
    await bruno.getByTestId("action-resolve").click();
    await systemLine(bruno, /Bruno resolved this conversation/);
    await bruno.locator('[data-testid=thread][data-status="resolved"]').waitFor();
    await bruno.getByTestId("action-reopen").waitFor();
    const [row] = await backend.running.ctx.database.db
      .select({ whatsappId: contacts.whatsappId })
      .from(conversations)
      .innerJoin(contacts, eq(contacts.id, conversations.contactId))
      .where(eq(conversations.id, id));
    await backend.running.ctx.inbound.ingest({
      messages: [
        {
          phoneNumberId: backend.running.ctx.config.whatsappPhoneNumberId,
          whatsappMessageId: `wamid.lifecycle.reopen.${id}`,
          from: row!.whatsappId,
          at: new Date(),
          messageType: "text",
          content: { text: "One more question" },
        },
      ],
      statuses: [],
    });
    await systemLine(bruno, /reopened this for Bruno/);
    await bruno.locator('[data-testid=thread][data-status="open"]').waitFor();
    await bruno.locator("[data-testid=message]", { hasText: "One more question" }).waitFor();
    expect(await bruno.getByTestId("day-separator").first().textContent()).toBe("Today");
  }, 30_000);

  test("an admin demoted to agent loses a colleague's open conversation live", async () => {
    const id = await queuedConversation("Demotion Customer");
    await backend.running.ctx.database.db
      .update(conversations)
      .set({ assignedAgentId: brunoId, status: "open" })
      .where(eq(conversations.id, id));
    await carla.getByTestId("tab-all").click();
    await openConversation(carla, id);
    await carla.getByTestId("action-resolve").waitFor();
    await backend.running.ctx.database.db.update(users).set({ role: "agent" }).where(eq(users.id, carlaId));
    await backend.running.ctx.liveAccess.userChanged(carlaId);
    await carla.locator('[data-testid=thread][data-revoked="true"]').waitFor();
    expect(await carla.getByTestId("composer-input").isDisabled()).toBeTrue();
  }, 30_000);

  test("new inbound messages in one's own conversations count in the tab title", async () => {
    const id = await queuedConversation("Title Customer");
    const [row] = await backend.running.ctx.database.db
      .update(conversations)
      .set({ assignedAgentId: brunoId, status: "open" })
      .where(eq(conversations.id, id))
      .returning({ contactId: conversations.contactId });
    const [contact] = await backend.running.ctx.database.db
      .select({ whatsappId: contacts.whatsappId })
      .from(contacts)
      .where(eq(contacts.id, row!.contactId));
    await bruno.getByTestId("tab-mine").click();
    const titleBefore = await bruno.title();
    await inbound(contact!.whatsappId, "Are you there?");
    await inbound(contact!.whatsappId, "Hello?");
    await item(bruno, id).waitFor();
    const deadline = Date.now() + STEP_TIMEOUT;
    while (!/^\(\d+\) Switchboard$/.test(await bruno.title()) && Date.now() < deadline) await Bun.sleep(50);
    expect(await bruno.title()).toMatch(/^\((\d+)\) Switchboard$/);
    expect(await bruno.title()).not.toBe(titleBefore);
  }, 30_000);

  test("usable on a 390 px wide screen: tabs, list, thread and composer all within the viewport", async () => {
    const phone = await openInbox(BRUNO, 390);
    await phone.getByTestId("tab-mine").click();
    await phone.locator("[data-testid=conversation-item]").first().click();
    await phone.getByTestId("composer-input").waitFor();
    for (const testId of ["inbox-tabs", "conversation-list", "thread", "composer-input", "composer-send"]) {
      const box = await phone.getByTestId(testId).boundingBox();
      expect(box).not.toBeNull();
      expect(box!.x).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width).toBeLessThanOrEqual(390 + 1);
    }
    const scrollWidth = await phone.evaluate(() => document.documentElement.scrollWidth);
    expect(scrollWidth).toBeLessThanOrEqual(390);
    await phone.screenshot({ path: join(OUTPUT_DIR, "browser-inbox-phone.png") });
    await ana.screenshot({ path: join(OUTPUT_DIR, "browser-inbox-lifecycle.png") });
    expect(pageErrors).toEqual([]);
  }, 30_000);
});
