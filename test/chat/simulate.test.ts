/**
 * A customer on demand: `bun run simulate` as a subprocess against a live server (its real, signed
 * webhook path), and the sandbox-only REST endpoint behind the web UI's "simulate customer" panel,
 * which goes through the same inbound service and is a 404 unless CHANNEL=sandbox.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { contacts, messages } from "../../db/schema.ts";
import { SandboxChannel } from "../../src/channels/sandbox.ts";
import { resolveWebhookAppSecret } from "../../src/http/webhooks/app-secret.ts";
import { SANDBOX_MEDIA_DIR } from "../../src/sandbox/customer.ts";
import type { ApiError, SimulatedCustomerResponse } from "../../src/shared/api.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import {
  type Harness,
  next,
  startHarness,
  TEST_APP_SECRET,
  TEST_PHONE_NUMBER_ID,
  WAIT_MS,
} from "./harness.ts";

const SCRIPT = join(import.meta.dir, "../../scripts/simulate.ts");
/** A subprocess starts a fresh bun: generous on a loaded 2-core machine. */
const CLI_TIMEOUT_MS = 30_000;
/** The smallest valid PNG (1×1). */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

const all = await backends();

describe("the webhook app secret the server and the CLI share", () => {
  test("WHATSAPP_APP_SECRET wins; development with the sandbox generates one under DATA_DIR once; elsewhere none", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "switchboard-app-secret-"));
    try {
      const dev = {
        dataDir,
        nodeEnv: "development",
        channel: "sandbox",
        whatsappAppSecret: undefined,
      } as const;
      const generated = resolveWebhookAppSecret(dev);
      expect(generated?.length).toBeGreaterThanOrEqual(32);
      expect(resolveWebhookAppSecret(dev)).toBe(generated!);
      expect(resolveWebhookAppSecret({ ...dev, whatsappAppSecret: "configured" })).toBe("configured");
      expect(resolveWebhookAppSecret({ ...dev, nodeEnv: "production" })).toBeUndefined();
      expect(resolveWebhookAppSecret({ ...dev, channel: "whatsapp" })).toBeUndefined();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("bun run simulate (a subprocess against a live server)", () => {
  let h: Harness;
  let dataDir: string;
  beforeAll(async () => {
    h = await startHarness(all[0]!);
    // The CLI and the server share DATA_DIR, as on one machine: the sandbox reads what the CLI left.
    dataDir = h.server.ctx.config.dataDir;
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await h?.close();
  }, SETUP_TIMEOUT_MS);

  const run = async (args: string[], env: Record<string, string> = {}) => {
    const proc = Bun.spawn(["bun", SCRIPT, "--url", h.url, ...args], {
      env: {
        PATH: process.env.PATH ?? "",
        NODE_ENV: "test",
        LOG_LEVEL: "silent",
        DATA_DIR: dataDir,
        WHATSAPP_APP_SECRET: TEST_APP_SECRET,
        WHATSAPP_PHONE_NUMBER_ID: TEST_PHONE_NUMBER_ID,
        ...env,
      },
      stdout: "pipe",
      stderr: "pipe",
      timeout: CLI_TIMEOUT_MS,
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { stdout, stderr, code };
  };

  test(
    "a text message from a new number is stored through the signed webhook and reaches the inbox live",
    async () => {
      const socket = await h.connect(await h.token(h.fx.admin));
      const updated = next(
        socket,
        "conversation:updated",
        CLI_TIMEOUT_MS,
        (c) => c.contact.whatsapp_id === "15550001111",
      );
      const out = await run(["--from", "+1 555 000 1111", "--name", "Maria", "Hello", "there"]);
      expect(out.stderr).toBe("");
      expect(out.code).toBe(0);
      expect(out.stdout).toContain("sent: +15550001111 (Maria)");
      const conversation = await updated;
      expect(conversation).toMatchObject({ contact: { name: "Maria" }, status: "queued", last_seq: 1 });
      const [stored] = await h.server.ctx.database.db
        .select()
        .from(messages)
        .where(eq(messages.conversationId, conversation.id));
      expect(stored).toMatchObject({ direction: "inbound", content: { text: "Hello there" } });
      expect(stored?.whatsappMessageId).toStartWith("wamid.sim.");
      socket.disconnect();
    },
    CLI_TIMEOUT_MS * 2,
  );

  test(
    "--image sends a media id (not the bytes); the sandbox channel fetches the file and serves it to the inbox",
    async () => {
      const file = join(dataDir, "photo.png");
      writeFileSync(file, PNG);
      const out = await run(["--from", "15550002222", "--image", file, "look"]);
      expect(out.code).toBe(0);
      const rows = await h.server.ctx.database.db
        .select()
        .from(messages)
        .where(eq(messages.messageType, "image"));
      expect(rows).toHaveLength(1);
      const content = rows[0]!.content;
      expect(content).toMatchObject({ mime_type: "image/png", caption: "look" });
      expect(content.url).toBe(`/api/v1/media/${content.media_id}`);
      const [kept] = readdirSync(join(dataDir, SANDBOX_MEDIA_DIR));
      expect(kept).toMatch(/^sandbox-[0-9a-f]{32}$/);
      expect(readFileSync(join(dataDir, SANDBOX_MEDIA_DIR, kept!))).toEqual(PNG);
      // The outbox worker fetches it through the sandbox channel; a reader of the conversation gets the bytes.
      const token = await h.token(h.fx.admin);
      let served: Response | undefined;
      for (let i = 0; i < 100; i++) {
        served = await h.api(content.url!, { token });
        if (served.status !== 409) break;
        await Bun.sleep(100);
      }
      expect(served!.status).toBe(200);
      expect(new Uint8Array(await served!.arrayBuffer())).toEqual(new Uint8Array(PNG));
    },
    CLI_TIMEOUT_MS * 2,
  );

  test(
    "a wrong app secret is refused by the server (exit 1); bad usage exits 2 and sends nothing",
    async () => {
      const refused = await run(["--from", "15550003333", "hi"], { WHATSAPP_APP_SECRET: "not-the-secret" });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("401");
      expect((await run(["hello"])).code).toBe(2);
      expect((await run(["--from", "12", "hello"])).code).toBe(2);
      expect((await run(["--from", "15550003333"])).code).toBe(2);
      expect((await run(["--from", "15550003333", "--image", join(dataDir, "x.gif"), "hi"])).code).toBe(2);
      const [contact] = await h.server.ctx.database.db
        .select()
        .from(contacts)
        .where(eq(contacts.whatsappId, "15550003333"));
      expect(contact).toBeUndefined();
    },
    CLI_TIMEOUT_MS * 6,
  );
});

for (const backend of all) {
  describe(`sandbox "simulate customer" endpoint on ${backend.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness(backend);
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => h?.close(), SETUP_TIMEOUT_MS);

    const simulate = async (body: unknown) =>
      h.api("/api/v1/sandbox/customer-messages", {
        method: "POST",
        body: JSON.stringify(body),
        token: await h.token(h.fx.agent),
      });

    test("GET /api/v1/sandbox tells the UI to show the panel; it needs a token", async () => {
      expect((await h.api("/api/v1/sandbox")).status).toBe(401);
      const res = await h.api("/api/v1/sandbox", { token: await h.token(h.fx.viewer) });
      expect(await res.json()).toEqual({ channel: "sandbox", simulate_customer: true });
    });

    test("a customer writes in through the inbound service: stored, normalized, announced", async () => {
      const socket = await h.connect(await h.token(h.fx.admin));
      await socket
        .timeout(WAIT_MS)
        .emitWithAck("join_conversation", { conversation_id: h.fx.convAssigned.id });
      const arrived = next(socket, "message:new");
      const res = await simulate({
        from: `+${h.fx.contactWhatsappId}`,
        name: "Alice",
        text: "Hi\u0000 there\ud800",
      });
      expect(res.status).toBe(201);
      const { message } = (await res.json()) as SimulatedCustomerResponse;
      expect(message).toMatchObject({
        conversation_id: h.fx.convAssigned.id,
        direction: "inbound",
        sender_type: "contact",
        content: { text: "Hi there\ufffd" },
      });
      expect((await arrived).id).toBe(message.id);
      socket.disconnect();
    });

    test("bad input is a 400 naming the field", async () => {
      for (const [body, field] of [
        [{ text: "hi" }, "from"],
        [{ from: "call me", text: "hi" }, "from"],
        [{ from: "+15550004444", text: " " }, "text"],
        [{ from: "+15550004444", text: "x".repeat(4097) }, "text"],
      ] as const) {
        const res = await simulate(body);
        expect(res.status).toBe(400);
        expect(((await res.json()) as ApiError).error.field).toBe(field);
      }
    });
  });
}

describe("the sandbox endpoint outside the sandbox", () => {
  let h: Harness;
  beforeAll(async () => {
    // CHANNEL=whatsapp configured; the channel object itself stays offline (no Graph API in tests).
    h = await startHarness(
      all[0]!,
      { CHANNEL: "whatsapp", WHATSAPP_ACCESS_TOKEN: "test-token" },
      { channel: new SandboxChannel() },
    );
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => h?.close(), SETUP_TIMEOUT_MS);

  test("is a 404 like any unknown route", async () => {
    const token = await h.token(h.fx.admin);
    expect((await h.api("/api/v1/sandbox", { token })).status).toBe(404);
    const res = await h.api("/api/v1/sandbox/customer-messages", {
      method: "POST",
      token,
      body: JSON.stringify({ from: "+15550005555", text: "hi" }),
    });
    expect(res.status).toBe(404);
  });
});
