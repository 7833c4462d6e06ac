/**
 * Seeded, reproducible fast-check campaigns over every parser boundary — Engine.IO payloads,
 * Socket.IO packets and attachments, JWTs, WhatsApp webhook bodies, REST JSON bodies — first on the
 * parsers alone, then against the live chat server (where a bystander of another organization must
 * stay unaffected), plus the regression corpus in test/reliability/corpus/.
 *
 * Reproduce a failure: FUZZ_SEED=<seed printed by fast-check> bun test test/reliability/fuzz.test.ts
 * Longer campaign:     FUZZ_RUNS=10 (multiplies every campaign's run count).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { TokenService } from "../../src/auth/tokens.ts";
import { hasPostgres } from "../support/services.ts";
import {
  type CorpusFrame,
  checkEnginePayload,
  checkJwt,
  checkRestBody,
  checkSocketIoFrames,
  checkWebhookLive,
  checkWebhookParse,
  MAX_ATTACHMENTS,
  toFrame,
} from "./support/boundaries.ts";
import { type ChatHarness, startChat, TEST_JWT_SECRET } from "./support/chat.ts";
import { createFreshDatabase, type FreshDatabase } from "./support/postgres.ts";
import { RawWs } from "./support/raw-ws.ts";
import { ask, connectStock, type StockSocket } from "./support/stock.ts";
import { fetchBounded } from "./support/wait.ts";

/** The default seed makes every CI run replay the same inputs; FUZZ_SEED explores others. */
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_129);
const SCALE = Number(process.env.FUZZ_RUNS ?? 1);
const runs = (n: number) => ({ seed: SEED, numRuns: Math.max(1, Math.round(n * SCALE)) });

interface CorpusEntry<T> {
  name: string;
  input: T;
  nested?: number;
  repeat?: number;
}
const corpus = async <T>(file: string): Promise<CorpusEntry<T>[]> =>
  Bun.file(`${import.meta.dir}/corpus/${file}`).json();

// ── generators ──────────────────────────────────────────────────────────────────────────────

/** Valid-looking Socket.IO text packets, to be mutated. */
const sioPacket = fc.oneof(
  fc.constantFrom(
    "0",
    "0/chat,",
    '0{"token":"x"}',
    "1",
    "1/chat,",
    '2["message","hi"]',
    '21["ev",{"a":1}]',
    '3/chat,5["ok"]',
  ),
  fc
    .tuple(
      fc.integer({ min: 0, max: 6 }),
      fc.option(fc.constantFrom("/", "/chat", "/a,b"), { nil: undefined }),
      fc.option(fc.nat(), { nil: undefined }),
      fc.jsonValue(),
    )
    .map(
      ([type, nsp, id, data]) =>
        `${type}${nsp && nsp !== "/" ? `${nsp},` : ""}${id ?? ""}${JSON.stringify(data)}`,
    ),
  fc
    .tuple(
      fc.constantFrom(5, 6),
      fc.integer({ min: 0, max: MAX_ATTACHMENTS + 3 }),
      fc.integer({ min: 0, max: 4 }),
    )
    .map(([type, n, num]) => `${type}${n}-["bin",{"_placeholder":true,"num":${num}}]`),
);

/** Mutations: cut, insert, flip a character. */
const mutated = (base: fc.Arbitrary<string>) =>
  fc
    .tuple(base, fc.nat(), fc.string({ maxLength: 4 }), fc.constantFrom("cut", "insert", "flip", "none"))
    .map(([s, at, extra, op]) => {
      const i = s.length === 0 ? 0 : at % s.length;
      if (op === "cut") return s.slice(0, i);
      if (op === "insert") return s.slice(0, i) + extra + s.slice(i);
      if (op === "flip")
        return s.slice(0, i) + String.fromCharCode((s.charCodeAt(i) ^ 0x01) & 0xffff) + s.slice(i + 1);
      return s;
    });

const frames = fc.array(fc.oneof(mutated(sioPacket), fc.uint8Array({ maxLength: 16 }), fc.string()), {
  minLength: 1,
  maxLength: 6,
});

const enginePayload = fc.oneof(
  fc.string(),
  fc
    .array(
      fc.oneof(
        mutated(sioPacket).map((p) => `4${p}`),
        fc.constantFrom("2", "3", "6", "1", "5", "b", "bAAEC"),
        fc.string(),
      ),
      { maxLength: 6 },
    )
    .map((ps) => ps.join("\x1e")),
);

/** WhatsApp-shaped bodies with hostile leaves (any JSON where a string or number is expected). */
const hostile = fc.oneof(
  fc.string(),
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom("1e20", "-1", "NaN", "", "99999999999999", "__proto__", "\u0000"),
);
const webhookBody = (phoneNumberId: string) =>
  fc.record({
    object: fc.oneof(fc.constant("whatsapp_business_account"), hostile),
    entry: fc.array(
      fc.record({
        changes: fc.array(
          fc.record({
            value: fc.record({
              metadata: fc.record({ phone_number_id: fc.oneof(fc.constant(phoneNumberId), hostile) }),
              contacts: fc.array(fc.record({ wa_id: hostile, profile: fc.record({ name: hostile }) }), {
                maxLength: 2,
              }),
              messages: fc.array(
                fc.record({
                  id: fc.oneof(
                    fc.uuid().map((u) => `wamid.fuzz.${u}`),
                    hostile,
                  ),
                  from: fc.oneof(fc.constant("15550001111"), hostile),
                  timestamp: fc.oneof(fc.integer({ min: 1, max: 2_000_000_000 }).map(String), hostile),
                  type: fc.oneof(fc.constantFrom("text", "image", "button", "sticker"), hostile),
                  text: fc.record({ body: hostile }),
                  image: fc.record({ id: hostile, caption: hostile }),
                  button: fc.record({ text: hostile }),
                }),
                { maxLength: 3 },
              ),
              statuses: fc.array(
                fc.record({
                  id: hostile,
                  status: fc.oneof(fc.constantFrom("sent", "delivered", "read", "failed"), hostile),
                  timestamp: fc.oneof(fc.integer({ min: 1, max: 2_000_000_000 }).map(String), hostile),
                  errors: fc.array(fc.record({ code: hostile, title: hostile }), { maxLength: 2 }),
                }),
                { maxLength: 3 },
              ),
            }),
          }),
          { maxLength: 2 },
        ),
      }),
      { maxLength: 2 },
    ),
  });

const restBody = fc.oneof(
  fc.string(),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .record({
      message_type: fc.oneof(
        fc.constantFrom("text", "image", "document", "audio", "template", "video"),
        hostile,
      ),
      content: fc.oneof(
        fc.record({
          text: hostile,
          url: fc.oneof(fc.webUrl(), hostile),
          caption: hostile,
          filename: hostile,
          template_name: hostile,
          parameters: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), hostile),
        }),
        hostile,
      ),
    })
    .map((v) => JSON.stringify(v)),
);

// ── parsers alone ───────────────────────────────────────────────────────────────────────────

describe("fuzz: parsers", () => {
  test("Engine.IO polling payloads never throw and end at the first invalid packet", () => {
    fc.assert(
      fc.property(enginePayload, (p) => checkEnginePayload(p)),
      runs(3000),
    );
  });

  test("Socket.IO frames decode or are refused with an Error; attachments past the cap are refused", () => {
    fc.assert(
      fc.property(frames, (fs) => checkSocketIoFrames(fs)),
      runs(3000),
    );
  });

  test("WhatsApp webhook bodies parse into valid dates and ids, or are refused with 400", () => {
    fc.assert(
      fc.property(fc.oneof(webhookBody("PHONE"), fc.jsonValue()), (b) => checkWebhookParse(b)),
      runs(2000),
    );
  });

  test("JWTs: random and mutated tokens are refused with a TokenError, never accepted or crashing", async () => {
    const tokens = new TokenService({ secret: TEST_JWT_SECRET });
    const subject = { id: crypto.randomUUID(), organization_id: crypto.randomUUID(), role: "agent" as const };
    const genuine = await tokens.sign(subject, "access");
    const refresh = await tokens.sign(subject, "refresh");
    const accepted = new Set([genuine]);
    const token = fc.oneof(
      fc.string(),
      mutated(fc.constantFrom(genuine, refresh)),
      fc
        .tuple(fc.base64String(), fc.base64String(), fc.base64String())
        .map((parts) => parts.join(".").replaceAll("=", "")),
      fc
        .jsonValue()
        .map(
          (v) =>
            `${Buffer.from(JSON.stringify(v)).toString("base64url")}.${genuine.split(".")[1]}.${genuine.split(".")[2]}`,
        ),
    );
    await fc.assert(
      fc.asyncProperty(token, (t) => checkJwt(tokens, t, accepted)),
      runs(1500),
    );
  });
});

// ── corpus ──────────────────────────────────────────────────────────────────────────────────

describe("fuzz: regression corpus (parsers)", async () => {
  for (const entry of await corpus<string>("engine-payload.json"))
    test(`engine payload: ${entry.name}`, () => checkEnginePayload(entry.input));
  for (const entry of await corpus<CorpusFrame[]>("socketio-frames.json"))
    test(`socket.io frames: ${entry.name}`, () => {
      const fs = entry.input.map(toFrame);
      if (entry.nested) fs[0] = `${fs[0]}${"[".repeat(entry.nested)}${"]".repeat(entry.nested)}`;
      checkSocketIoFrames(fs);
    });
  for (const entry of await corpus<unknown>("webhook.json"))
    test(`webhook parse: ${entry.name}`, () =>
      checkWebhookParse(JSON.parse(JSON.stringify(entry.input).replaceAll("PHONE_A", "p"))));
  const tokens = new TokenService({ secret: TEST_JWT_SECRET });
  for (const entry of await corpus<string>("jwt.json"))
    test(`jwt: ${entry.name}`, () =>
      checkJwt(tokens, entry.repeat ? entry.input.repeat(entry.repeat) : entry.input, new Set()));
});

// ── live server ─────────────────────────────────────────────────────────────────────────────

const usePostgres = await hasPostgres();

describe("fuzz: live chat server", () => {
  let db: FreshDatabase | null = null;
  let chat: ChatHarness;
  let bystander: StockSocket;
  let authorization = "";
  let messagesUrl = "";

  beforeAll(async () => {
    if (usePostgres) db = await createFreshDatabase("rel_fuzz");
    // Rate limits out of the way: the campaign is about parsing, the security suite covers limits.
    chat = await startChat({
      ...(db ? { databaseUrl: db.url } : {}),
      env: { RATE_LIMIT_BURST: "100000", RATE_LIMIT_EVENTS_PER_SECOND: "100000" },
    });
    authorization = `Bearer ${await chat.token(chat.a.admin)}`;
    messagesUrl = `${chat.url}/api/v1/conversations/${chat.a.conversationId}/messages`;
    bystander = await connectStock(chat.url, { auth: { token: await chat.token(chat.b.admin) } });
  }, 60_000);

  afterAll(async () => {
    bystander?.close();
    await chat?.stop();
    await db?.drop();
  }, 20_000);

  async function expectAliveAndBystanderUnaffected(): Promise<void> {
    expect((await fetchBounded(`${chat.url}/health`)).status).toBe(200);
    expect(bystander.connected).toBe(true);
    expect(await ask(bystander, "ping")).toMatchObject({ ok: true });
  }

  test("REST message bodies: 201 or 400/413/415 JSON, never 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(restBody, (body) => checkRestBody(messagesUrl, authorization, body)),
      runs(150),
    );
    await expectAliveAndBystanderUnaffected();
  }, 60_000);

  test("login and refresh bodies: 200, 400, 401, 413, 415 or 429 with a JSON error, never 5xx", async () => {
    const credentials = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.record({ email: hostile, password: hostile, refresh_token: hostile }).map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(credentials, fc.constantFrom("login", "refresh"), async (body, route) => {
        const res = await fetchBounded(`${chat.url}/api/v1/auth/${route}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        const text = await res.text();
        if (![200, 400, 401, 413, 415, 429].includes(res.status))
          throw new Error(`answered ${res.status}: ${text.slice(0, 300)}`);
        if (res.status !== 200)
          expect(JSON.parse(text)).toMatchObject({ error: { code: expect.any(String) } });
      }),
      runs(100),
    );
    await expectAliveAndBystanderUnaffected();
  }, 60_000);

  test("signed webhook bodies: 200 or 400, never 5xx", async () => {
    const body = webhookBody(chat.a.phoneNumberId).map((b) => JSON.stringify(b));
    await fc.assert(
      fc.asyncProperty(body, (b) => checkWebhookLive(chat.url, b)),
      runs(150),
    );
    await expectAliveAndBystanderUnaffected();
  }, 60_000);

  test("random frames from an authenticated websocket never take the server down or touch another tenant", async () => {
    const token = await chat.token(chat.a.agent);
    await fc.assert(
      fc.asyncProperty(frames, async (fs) => {
        const { ws } = await RawWs.open(chat.url, "/socket.io/?EIO=4&transport=websocket");
        try {
          await ws.connectSocketIo({ token });
          for (const f of fs) {
            if (typeof f === "string") ws.sendText(`4${f}`);
            else ws.sendBinary(f);
          }
          ws.sendText('42["ping"]');
          await Promise.race([
            ws.nextMatching((m) => m.startsWith('42["pong"'), 1000).catch(() => null),
            ws.waitEnded(1000).catch(() => null),
          ]);
        } finally {
          ws.destroy();
        }
      }),
      runs(60),
    );
    await expectAliveAndBystanderUnaffected();
  }, 60_000);

  test("random polling payloads answer ok, 400 or 413 and never take the server down", async () => {
    await fc.assert(
      fc.asyncProperty(enginePayload, async (payload) => {
        const open = await (await fetchBounded(`${chat.url}/socket.io/?EIO=4&transport=polling`)).text();
        const sid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
        const res = await fetchBounded(`${chat.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
          method: "POST",
          body: payload,
        });
        expect([200, 400, 413]).toContain(res.status);
        await res.body?.cancel();
      }),
      runs(150),
    );
    await expectAliveAndBystanderUnaffected();
  }, 60_000);

  describe("regression corpus (live)", async () => {
    for (const entry of await corpus<unknown>("webhook.json"))
      test(`webhook: ${entry.name}`, async () => {
        const body = JSON.stringify(entry.input).replaceAll("PHONE_A", chat.a.phoneNumberId);
        await checkWebhookLive(chat.url, body);
      });
    for (const entry of await corpus<string>("rest-body.json"))
      test(`REST body: ${entry.name}`, async () => {
        let body = entry.input;
        if (entry.repeat) body = body.replace("%s", "x".repeat(entry.repeat));
        if (entry.nested) body = `${"[".repeat(entry.nested)}${"]".repeat(entry.nested)}`;
        await checkRestBody(messagesUrl, authorization, body);
      });
    test("the server is alive and the other tenant unaffected after the corpus", () =>
      expectAliveAndBystanderUnaffected());
  });
});
