/**
 * Hostile users against the whole chat server (two organizations, stock socket.io-client and raw
 * HTTP): cross-tenant access by guessing ids, token confusion, cross-site websocket hijacking,
 * oversized input, path traversal against the web UI, connection and event floods. Each case
 * asserts the exact refusal and that a user of the other organization is unaffected.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { messages } from "../../db/schema.ts";
import { signPayload } from "../../src/http/webhooks/signature.ts";
import { hasPostgres } from "../support/services.ts";
import { type ChatHarness, type FixtureUser, startChat, TEST_JWT_SECRET } from "./support/chat.ts";
import { createFreshDatabase, type FreshDatabase } from "./support/postgres.ts";
import { RawWs, rawHttp } from "./support/raw-ws.ts";
import { ask, connectStock, nextEvent, refusal, type StockSocket } from "./support/stock.ts";
import { craftToken } from "./support/tokens.ts";
import { fetchBounded, waitFor } from "./support/wait.ts";

const ALLOWED_ORIGIN = "https://app.example.com";
const EVIL_ORIGIN = "https://evil.example";
const SECRET_MARKER = "TOP-SECRET-OUTSIDE-WEB-ROOT";
const MAX_PER_USER = 3;
const RATE_BURST = 20;
/** How long to listen for an event that must NOT arrive. */
const QUIET_MS = 300;

const usePostgres = await hasPostgres();

describe("hostile users", () => {
  let db: FreshDatabase | null = null;
  let chat: ChatHarness;
  let webRoot: string;
  /** Bystanders: org B's admin, joined to B's conversation, checked after every attack. */
  let bystander: StockSocket;
  const opened: StockSocket[] = [];

  const bearer = async (user: FixtureUser) => ({ authorization: `Bearer ${await chat.token(user)}` });
  const open = async (user: FixtureUser, extra: Record<string, unknown> = {}) => {
    const s = await connectStock(chat.url, { auth: { token: await chat.token(user) }, ...extra });
    opened.push(s);
    return s;
  };
  /** Listens for `event` for QUIET_MS; returns what arrived (expected: nothing). */
  const overhear = async (socket: StockSocket, event: string): Promise<unknown[]> => {
    const heard: unknown[] = [];
    const listener = (arg: unknown) => heard.push(arg);
    socket.on(event, listener);
    await Bun.sleep(QUIET_MS);
    socket.off(event, listener);
    return heard;
  };

  async function expectBystanderUnaffected(): Promise<void> {
    expect(bystander.connected).toBe(true);
    expect(await ask(bystander, "ping")).toMatchObject({ ok: true });
  }

  beforeAll(async () => {
    const base = mkdtempSync(join(tmpdir(), "switchboard-web-"));
    webRoot = join(base, "dist");
    mkdirSync(webRoot);
    writeFileSync(join(webRoot, "index.html"), "<!doctype html><title>inbox</title>");
    writeFileSync(join(base, "secret.txt"), SECRET_MARKER);
    if (usePostgres) db = await createFreshDatabase("rel_security");
    chat = await startChat({
      ...(db ? { databaseUrl: db.url } : {}),
      env: {
        CORS_ORIGINS: ALLOWED_ORIGIN,
        WEB_DIST_DIR: webRoot,
        MAX_CONNECTIONS_PER_USER: String(MAX_PER_USER),
        RATE_LIMIT_EVENTS_PER_SECOND: "10",
        RATE_LIMIT_BURST: String(RATE_BURST),
      },
    });
    bystander = await connectStock(chat.url, { auth: { token: await chat.token(chat.b.admin) } });
    expect(
      await ask(bystander, "join_conversation", { conversation_id: chat.b.conversationId }),
    ).toMatchObject({ ok: true });
  }, 60_000);

  afterAll(async () => {
    for (const s of opened) s.close();
    bystander?.close();
    await chat?.stop();
    await db?.drop();
    if (webRoot) rmSync(join(webRoot, ".."), { recursive: true, force: true });
  }, 20_000);

  describe("cross-tenant attempts", () => {
    test("joining another organization's conversation is refused as not found, and nothing leaks to the attacker", async () => {
      const attacker = await open(chat.a.admin);
      const answer = await ask(attacker, "join_conversation", { conversation_id: chat.b.conversationId });
      expect(answer).toEqual({
        ok: false,
        error: {
          code: "conversation_not_found",
          message: "conversation not found",
          event: "join_conversation",
        },
      });
      // A random id that exists nowhere gets the very same answer: no existence oracle.
      const guessed = await ask(attacker, "join_conversation", { conversation_id: crypto.randomUUID() });
      expect(guessed).toEqual(answer);
      const heard = overhear(attacker, "message:new");
      const res = await fetchBounded(`${chat.url}/api/v1/conversations/${chat.b.conversationId}/messages`, {
        method: "POST",
        headers: { ...(await bearer(chat.b.admin)), "content-type": "application/json" },
        body: JSON.stringify({ content: { text: "for org B only" } }),
      });
      expect(res.status).toBe(201);
      expect(await heard).toEqual([]);
      await expectBystanderUnaffected();
    });

    test("typing into another organization's conversation is refused and the other side sees no typing", async () => {
      const attacker = await open(chat.a.admin);
      const heard = overhear(bystander, "user_typing");
      const answer = await ask(attacker, "typing_start", { conversation_id: chat.b.conversationId });
      expect(answer).toEqual({
        ok: false,
        error: {
          code: "not_joined",
          message: "join the conversation before typing in it",
          event: "typing_start",
        },
      });
      expect(await heard).toEqual([]);
      await expectBystanderUnaffected();
    });

    test("reading or posting to another organization's conversation over REST answers 404 like an unknown id", async () => {
      const headers = { ...(await bearer(chat.a.admin)), "content-type": "application/json" };
      const foreign = `${chat.url}/api/v1/conversations/${chat.b.conversationId}/messages`;
      const unknown = `${chat.url}/api/v1/conversations/${crypto.randomUUID()}/messages`;
      const expected = { error: { code: "not_found", message: "conversation not found" } };
      for (const url of [foreign, unknown]) {
        const read = await fetchBounded(url, { headers });
        expect({ status: read.status, body: await read.json() }).toEqual({ status: 404, body: expected });
        const post = await fetchBounded(url, {
          method: "POST",
          headers,
          body: JSON.stringify({ content: { text: "x" } }),
        });
        expect({ status: post.status, body: await post.json() }).toEqual({ status: 404, body: expected });
      }
      const list = await fetchBounded(`${chat.url}/api/v1/conversations`, { headers });
      const ids = ((await list.json()) as { data: { id: string }[] }).data.map((c) => c.id);
      expect(ids).toContain(chat.a.conversationId);
      expect(ids).not.toContain(chat.b.conversationId);
      await expectBystanderUnaffected();
    });

    test("a token whose organization claim is forged to another organization is refused", async () => {
      // Signed with the right key (worst case: a leaked key is out of scope), but sub and org disagree.
      const forged = await craftToken(chat.a.admin, {
        secret: TEST_JWT_SECRET,
        claims: { organization_id: chat.b.organizationId },
      });
      expect(await refusal(chat.url, { auth: { token: forged } })).toEqual({
        message: "the user of this token no longer exists",
        data: { code: "unknown_user" },
      });
      await expectBystanderUnaffected();
    });
  });

  describe("token confusion", () => {
    const cases: [string, (u: FixtureUser) => Promise<string>, string, string][] = [
      [
        "a refresh token used as an access token",
        (u) => chat.token(u, "refresh"),
        "wrong_token_type",
        "a refresh token cannot be used here",
      ],
      [
        "alg: none",
        (u) => craftToken(u, { secret: TEST_JWT_SECRET, alg: "none" }),
        "unsupported_algorithm",
        "token algorithm is not accepted",
      ],
      [
        "another algorithm than the configured one",
        (u) => craftToken(u, { secret: TEST_JWT_SECRET, alg: "HS512" }),
        "unsupported_algorithm",
        "token algorithm is not accepted",
      ],
      [
        "a token signed with the wrong key",
        (u) => craftToken(u, { secret: "not-the-server-key-0123456789abcdef" }),
        "invalid_signature",
        "token signature is invalid",
      ],
      [
        "an expired token",
        (u) => craftToken(u, { secret: TEST_JWT_SECRET, expIn: -60 }),
        "token_expired",
        "token has expired",
      ],
      [
        "a not-yet-valid token (nbf in the future)",
        (u) => craftToken(u, { secret: TEST_JWT_SECRET, nbfIn: 3600 }),
        "invalid_token",
        "token is not a valid JWT",
      ],
      [
        "a token without a type claim",
        (u) => craftToken(u, { secret: TEST_JWT_SECRET, type: "" }),
        "invalid_token",
        "token claims are invalid",
      ],
      ["garbage", async () => "not.a.jwt", "invalid_token", "token is not a valid JWT"],
    ];

    for (const [name, make, code, message] of cases) {
      test(`${name}: handshake refused with data.code "${code}" and REST answers 401 "${code}"`, async () => {
        const token = await make(chat.a.admin);
        expect(await refusal(chat.url, { auth: { token } })).toEqual({ message, data: { code } });
        const res = await fetchBounded(`${chat.url}/api/v1/conversations`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({ error: { code, message } });
        await expectBystanderUnaffected();
      });
    }

    test("auth:refresh with a refresh token on a live socket is refused and the socket keeps its session", async () => {
      const socket = await open(chat.a.agent);
      const answer = await ask(socket, "auth:refresh", { token: await chat.token(chat.a.agent, "refresh") });
      expect(answer).toMatchObject({ ok: false, error: { code: "wrong_token_type" } });
      const other = await ask(socket, "auth:refresh", { token: await chat.token(chat.b.agent) });
      expect(other).toMatchObject({
        ok: false,
        error: { code: "forbidden", message: "the new token belongs to another user" },
      });
      expect(await ask(socket, "ping")).toMatchObject({ ok: true });
    });

    test("an access token at the refresh endpoint is refused", async () => {
      const res = await fetchBounded(`${chat.url}/api/v1/auth/refresh`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: await chat.token(chat.a.admin) }),
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: "wrong_token_type" } });
    });
  });

  describe("forged webhooks", () => {
    test("a webhook signed with the wrong key, or unsigned, is refused with 401 and stores nothing", async () => {
      const wamid = `wamid.forged.${crypto.randomUUID()}`;
      const body = JSON.stringify({
        object: "whatsapp_business_account",
        entry: [
          {
            changes: [
              {
                value: {
                  metadata: { phone_number_id: chat.b.phoneNumberId },
                  messages: [
                    { id: wamid, from: chat.b.contactWhatsappId, type: "text", text: { body: "forged" } },
                  ],
                },
              },
            ],
          },
        ],
      });
      const heard = overhear(bystander, "message:new");
      for (const signature of [
        signPayload("not-the-app-secret", body),
        undefined,
        "sha256=",
        `sha1=${"0".repeat(40)}`,
      ]) {
        const res = await fetchBounded(`${chat.url}/api/v1/webhooks/whatsapp`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(signature ? { "x-hub-signature-256": signature } : {}),
          },
          body,
        });
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ error: { code: "invalid_signature" } });
      }
      expect(await heard).toEqual([]);
      const rows = await chat.running.ctx.database.db
        .select()
        .from(messages)
        .where(eq(messages.whatsappMessageId, wamid));
      expect(rows).toEqual([]);
    });
  });

  describe("cross-site websocket hijacking", () => {
    test("a websocket handshake from an Origin outside the allowlist is refused with 403 before any session exists", async () => {
      const before = (await fetchBounded(`${chat.url}/metrics`).then((r) => r.text())).length;
      expect(before).toBeGreaterThan(0);
      const { ws, answer } = await RawWs.open(chat.url, "/socket.io/?EIO=4&transport=websocket", {
        headers: { Origin: EVIL_ORIGIN, Cookie: "session=victim" },
      });
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body)).toEqual({ code: 4, message: "origin not allowed" });
      ws.destroy();
      await expectBystanderUnaffected();
    });

    test("a polling handshake from an Origin outside the allowlist is refused with 403 and no CORS grant", async () => {
      const res = await fetchBounded(`${chat.url}/socket.io/?EIO=4&transport=polling`, {
        headers: { Origin: EVIL_ORIGIN },
      });
      expect(res.status).toBe(403);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      expect(await res.json()).toEqual({ code: 4, message: "origin not allowed" });
    });

    test("the stock client sending a foreign Origin gets a connect_error; the allowed Origin and no Origin connect", async () => {
      const evil = await refusal(chat.url, {
        extraHeaders: { Origin: EVIL_ORIGIN },
        auth: { token: await chat.token(chat.a.admin) },
      });
      expect(evil.message).toBe("websocket error");
      const good = await open(chat.a.admin, { extraHeaders: { Origin: ALLOWED_ORIGIN } });
      expect(good.connected).toBe(true);
    });

    test("the REST API grants CORS only to the allowlist", async () => {
      const preflight = (origin: string) =>
        fetchBounded(`${chat.url}/api/v1/conversations`, {
          method: "OPTIONS",
          headers: {
            Origin: origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
          },
        });
      expect((await preflight(ALLOWED_ORIGIN)).headers.get("access-control-allow-origin")).toBe(
        ALLOWED_ORIGIN,
      );
      expect((await preflight(EVIL_ORIGIN)).headers.get("access-control-allow-origin")).toBeNull();
    });
  });

  describe("oversized input", () => {
    test("a REST body over HTTP_BODY_LIMIT answers 413 JSON without being stored", async () => {
      const res = await fetchBounded(`${chat.url}/api/v1/conversations/${chat.a.conversationId}/messages`, {
        method: "POST",
        headers: { ...(await bearer(chat.a.admin)), "content-type": "application/json" },
        body: JSON.stringify({ content: { text: "x".repeat(70 * 1024) } }),
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({
        error: { code: "payload_too_large", message: "body: larger than 65536 bytes", field: "body" },
      });
      await expectBystanderUnaffected();
    });

    test("a chunked REST body (no Content-Length) over the limit answers 413 too", async () => {
      const url = new URL(chat.url);
      const chunk = "x".repeat(16 * 1024);
      let body = "";
      for (let i = 0; i < 5; i++) body += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
      body += "0\r\n\r\n";
      const res = await rawHttp(
        chat.url,
        `POST /api/v1/conversations/${chat.a.conversationId}/messages HTTP/1.1\r\nHost: ${url.host}\r\n` +
          `Authorization: Bearer ${await chat.token(chat.a.admin)}\r\nContent-Type: application/json\r\n` +
          `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}`,
      );
      expect(res.status).toBe(413);
    });

    test("a webhook body over WEBHOOK_BODY_LIMIT answers 413", async () => {
      const res = await fetchBounded(`${chat.url}/api/v1/webhooks/whatsapp`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-hub-signature-256": "sha256=00" },
        body: "x".repeat(1024 * 1024 + 1),
      });
      expect(res.status).toBe(413);
    });

    test("an oversized request header is refused by the server (431) and the server keeps serving", async () => {
      const url = new URL(chat.url);
      const res = await rawHttp(
        chat.url,
        `GET /health HTTP/1.1\r\nHost: ${url.host}\r\nX-Big: ${"a".repeat(256 * 1024)}\r\nConnection: close\r\n\r\n`,
      );
      expect(res.status).toBe(431);
      expect((await fetchBounded(`${chat.url}/health`)).status).toBe(200);
      await expectBystanderUnaffected();
    });

    test("an oversized query string is refused and the server keeps serving", async () => {
      const url = new URL(chat.url);
      const res = await rawHttp(
        chat.url,
        `GET /socket.io/?EIO=4&transport=polling&x=${"a".repeat(256 * 1024)} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`,
      );
      expect([414, 431]).toContain(res.status);
      expect((await fetchBounded(`${chat.url}/health`)).status).toBe(200);
    });

    test("a polling POST over the packet limit answers 413 and closes that session only", async () => {
      const openRes = await fetchBounded(`${chat.url}/socket.io/?EIO=4&transport=polling`);
      const sid = (JSON.parse((await openRes.text()).slice(1)) as { sid: string }).sid;
      const q = `${chat.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
      const res = await fetchBounded(q, { method: "POST", body: `4${"x".repeat(65 * 1024)}` });
      expect(res.status).toBe(413);
      expect(await (await fetchBounded(q)).json()).toEqual({ code: 1, message: "Session ID unknown" });
      await expectBystanderUnaffected();
    });

    test("a websocket frame over the packet limit closes that connection with 1009", async () => {
      const { ws } = await RawWs.open(chat.url, "/socket.io/?EIO=4&transport=websocket");
      await ws.next();
      ws.sendText(`4${"x".repeat(65 * 1024)}`);
      await ws.waitEnded();
      expect(ws.closeFrame?.code).toBe(1009);
      await expectBystanderUnaffected();
    });
  });

  describe("path traversal against the web UI", () => {
    const attempts = [
      "/../secret.txt",
      "/%2e%2e/secret.txt",
      "/%2e%2e%2fsecret.txt",
      "/..%2fsecret.txt",
      "/..%5csecret.txt",
      "/%252e%252e/secret.txt",
      "/.%2e/secret.txt",
      "//..//secret.txt",
      "/index.html%00/../../secret.txt",
      `/${"..%2f".repeat(12)}etc%2fpasswd`,
      "/..\\secret.txt",
    ];
    for (const path of attempts) {
      test(`GET ${path} never serves a file outside the web root`, async () => {
        const url = new URL(chat.url);
        const res = await rawHttp(
          chat.url,
          `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`,
        );
        expect(res.body).not.toContain(SECRET_MARKER);
        expect(res.body).not.toContain("root:");
        // Either refused, or answered with the app shell (client-side routes fall back to index.html).
        if (res.status === 200) expect(res.body).toContain("<title>inbox</title>");
        else expect([400, 404]).toContain(res.status);
      });
    }
  });

  describe("floods", () => {
    test(`a user's connections past the cap (${MAX_PER_USER}) push out the oldest with connection_limit; other users unaffected`, async () => {
      const user = chat.a.viewer;
      const first: StockSocket[] = [];
      const notices: Promise<unknown>[] = [];
      const reasons: Promise<string>[] = [];
      for (let i = 0; i < MAX_PER_USER; i++) {
        const s = await open(user);
        notices.push(nextEvent(s, "error", 10_000));
        reasons.push(nextEvent<string>(s, "disconnect", 10_000));
        first.push(s);
      }
      for (let i = 0; i < MAX_PER_USER; i++) await open(user);
      expect(await Promise.all(notices)).toEqual(
        Array(MAX_PER_USER).fill({
          message: "disconnected: this user opened too many connections (the oldest is closed)",
          code: "connection_limit",
        }),
      );
      expect(await Promise.all(reasons)).toEqual(Array(MAX_PER_USER).fill("io server disconnect"));
      const live = opened.filter((s) => s.connected && !first.includes(s));
      expect(live.length).toBeGreaterThanOrEqual(MAX_PER_USER);
      await expectBystanderUnaffected();
    }, 20_000);

    test(`an event flood past the rate limit gets rate_limited after the burst (${RATE_BURST}); other users unaffected`, async () => {
      // A user no other case has spent tokens for: the bucket is per user, not per socket.
      const attacker = await open(chat.b.viewer);
      const answers = await Promise.all(
        Array.from({ length: 100 }, () => ask<{ ok: boolean; error?: unknown }>(attacker, "ping")),
      );
      const ok = answers.filter((a) => a.ok).length;
      expect(ok).toBeGreaterThanOrEqual(RATE_BURST);
      expect(ok).toBeLessThan(RATE_BURST + 10);
      expect(answers.find((a) => !a.ok)).toEqual({
        ok: false,
        error: {
          code: "rate_limited",
          message: "too many events: this one was dropped; slow down",
          event: "ping",
        },
      });
      expect(attacker.connected).toBe(true);
      await expectBystanderUnaffected();
      // The budget refills: after a pause the attacker is served again.
      await waitFor(
        async () => (await ask<{ ok: boolean }>(attacker, "ping")).ok,
        "the bucket to refill",
        3000,
        200,
      );
    }, 20_000);

    test("a flood of events with unknown names is rate limited the same way and never answered", async () => {
      const attacker = await open(chat.a.admin);
      for (let i = 0; i < 200; i++) attacker.emit(`junk-${i}`, { x: i });
      const error = await nextEvent<{ code: string }>(attacker, "error");
      expect(error.code).toBe("rate_limited");
      await expectBystanderUnaffected();
    });
  });
});
