/** REST API: auth, conversations, messages, validation, errors, health, metrics, static files. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { users } from "../../db/schema.ts";
import type {
  ApiError,
  ConversationListPage,
  MessagesPage,
  SendMessageResponse,
  TokenResponse,
} from "../../src/shared/api.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { type Harness, startHarness, TEST_PASSWORD, WAIT_MS } from "./harness.ts";

for (const backend of await backends()) {
  describe(`REST API on ${backend.name}`, () => {
    let h: Harness;
    let admin: string;
    const webDir = mkdtempSync(join(tmpdir(), "switchboard-web-"));

    beforeAll(async () => {
      writeFileSync(join(webDir, "index.html"), "<!doctype html><title>inbox</title>");
      writeFileSync(join(webDir, "app.js"), "console.log('app')");
      h = await startHarness(backend, {
        WEB_DIST_DIR: webDir,
        HTTP_BODY_LIMIT: "8192",
        SANDBOX_STEP_MS: "10",
      });
      admin = await h.token(h.fx.admin);
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => {
      await h?.close();
      rmSync(webDir, { recursive: true, force: true });
    }, SETUP_TIMEOUT_MS);

    const json = async <T>(res: Response) => (await res.json()) as T;
    const post = (path: string, body: unknown, token?: string) =>
      h.api(path, { method: "POST", body: JSON.stringify(body), ...(token ? { token } : {}) });

    describe("auth", () => {
      test("login returns an access and a refresh token; the access token works", async () => {
        const res = await post("/api/v1/auth/login", { email: "AGENT@a.test", password: TEST_PASSWORD });
        expect(res.status).toBe(200);
        const body = await json<TokenResponse>(res);
        expect(body).toMatchObject({
          token_type: "Bearer",
          expires_in: 900,
          user: { email: "agent@a.test", role: "agent" },
        });
        const claims = JSON.parse(Buffer.from(body.access_token.split(".")[1]!, "base64url").toString());
        expect(claims).toMatchObject({
          sub: h.fx.agent.id,
          organization_id: h.fx.orgA,
          role: "agent",
          type: "access",
        });
        expect(claims.exp - claims.iat).toBe(900);
        const me = await h.api("/api/v1/auth/me", { token: body.access_token });
        expect((await json<{ user: { id: string } }>(me)).user.id).toBe(h.fx.agent.id);
      });

      test("a wrong password or unknown email is 401 with the same message", async () => {
        const wrong = await post("/api/v1/auth/login", { email: "agent@a.test", password: "nope" });
        const unknown = await post("/api/v1/auth/login", { email: "ghost@a.test", password: "nope" });
        expect(wrong.status).toBe(401);
        expect(unknown.status).toBe(401);
        expect((await json<ApiError>(wrong)).error.message).toBe(
          (await json<ApiError>(unknown)).error.message,
        );
      });

      test("a login body without password is 400 naming the field", async () => {
        const res = await post("/api/v1/auth/login", { email: "agent@a.test" });
        expect(res.status).toBe(400);
        expect((await json<ApiError>(res)).error).toMatchObject({
          code: "validation_error",
          field: "password",
        });
      });

      test("a body that is not JSON is 400 naming body", async () => {
        const res = await h.api("/api/v1/auth/login", {
          method: "POST",
          body: "{nope",
          headers: { "content-type": "application/json" },
        });
        expect(res.status).toBe(400);
        expect((await json<ApiError>(res)).error.field).toBe("body");
      });

      test("refresh trades a refresh token for a new pair; an access token cannot refresh", async () => {
        const login = await json<TokenResponse>(
          await post("/api/v1/auth/login", { email: "admin@a.test", password: TEST_PASSWORD }),
        );
        const refreshed = await post("/api/v1/auth/refresh", { refresh_token: login.refresh_token });
        expect(refreshed.status).toBe(200);
        expect((await json<TokenResponse>(refreshed)).access_token).toBeString();
        const misuse = await post("/api/v1/auth/refresh", { refresh_token: login.access_token });
        expect(misuse.status).toBe(401);
        expect((await json<ApiError>(misuse)).error.code).toBe("wrong_token_type");
      });

      test("a refresh token is not accepted as a bearer token", async () => {
        const login = await json<TokenResponse>(
          await post("/api/v1/auth/login", { email: "admin@a.test", password: TEST_PASSWORD }),
        );
        const res = await h.api("/api/v1/conversations", { token: login.refresh_token });
        expect(res.status).toBe(401);
      });
    });

    describe("conversations", () => {
      test("without a token the API answers 401 JSON", async () => {
        const res = await h.api("/api/v1/conversations");
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toContain("Bearer");
        expect((await json<ApiError>(res)).error.code).toBe("unauthorized");
      });

      test("the list holds only the organization's conversations and pages with a cursor", async () => {
        const first = await json<ConversationListPage>(
          await h.api("/api/v1/conversations?limit=2", { token: admin }),
        );
        expect(first.data).toHaveLength(2);
        expect(first.next_cursor).toBeString();
        const second = await json<ConversationListPage>(
          await h.api(`/api/v1/conversations?limit=2&cursor=${first.next_cursor}`, { token: admin }),
        );
        const ids = [...first.data, ...second.data].map((c) => c.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.sort()).toEqual([h.fx.convAssigned.id, h.fx.convQueue.id, h.fx.convOther.id].sort());
        expect(second.next_cursor).toBeNull();
        expect(first.data[0]!.contact.whatsapp_id).toBeString();
      });

      test("bad list parameters are 400 naming the field", async () => {
        for (const [query, field] of [
          ["limit=0", "limit"],
          ["limit=abc", "limit"],
          ["cursor=zzz", "cursor"],
          ["status=sleeping", "status"],
        ]) {
          const res = await h.api(`/api/v1/conversations?${query}`, { token: admin });
          expect(res.status).toBe(400);
          expect((await json<ApiError>(res)).error.field).toBe(field!);
        }
      });

      test("a conversation of another organization is 404, like a missing one", async () => {
        const other = await h.api(`/api/v1/conversations/${h.fx.convB.id}/messages`, { token: admin });
        const missing = await h.api(`/api/v1/conversations/${crypto.randomUUID()}/messages`, {
          token: admin,
        });
        expect(other.status).toBe(404);
        expect(missing.status).toBe(404);
        const send = await post(
          `/api/v1/conversations/${h.fx.convB.id}/messages`,
          { content: { text: "x" } },
          admin,
        );
        expect(send.status).toBe(404);
      });

      test("a conversation id that is not a UUID is 400 naming id", async () => {
        const res = await h.api("/api/v1/conversations/123/messages", { token: admin });
        expect(res.status).toBe(400);
        expect((await json<ApiError>(res)).error.field).toBe("id");
      });
    });

    describe("messages", () => {
      test("history pages newest first; `after` (a seq or a message id) catches up oldest first", async () => {
        const id = h.fx.convQueue.id;
        const sent: SendMessageResponse[] = [];
        for (let i = 1; i <= 5; i++)
          sent.push(
            await json(
              await post(`/api/v1/conversations/${id}/messages`, { content: { text: `m${i}` } }, admin),
            ),
          );
        expect(sent.map((s) => s.message.seq)).toEqual([1, 2, 3, 4, 5]);
        const page = await json<MessagesPage>(
          await h.api(`/api/v1/conversations/${id}/messages?limit=2`, { token: admin }),
        );
        expect(page.order).toBe("desc");
        expect(page.data.map((m) => m.seq)).toEqual([5, 4]);
        const older = await json<MessagesPage>(
          await h.api(`/api/v1/conversations/${id}/messages?limit=2&before=${page.next_cursor}`, {
            token: admin,
          }),
        );
        expect(older.data.map((m) => m.seq)).toEqual([3, 2]);
        const bySeq = await json<MessagesPage>(
          await h.api(`/api/v1/conversations/${id}/messages?after=3`, { token: admin }),
        );
        expect(bySeq.order).toBe("asc");
        expect(bySeq.data.map((m) => m.seq)).toEqual([4, 5]);
        const byId = await json<MessagesPage>(
          await h.api(`/api/v1/conversations/${id}/messages?after=${sent[2]!.message.id}`, { token: admin }),
        );
        expect(byId.data.map((m) => m.seq)).toEqual([4, 5]);
        const both = await h.api(`/api/v1/conversations/${id}/messages?after=1&before=3`, { token: admin });
        expect(both.status).toBe(400);
      });

      test("sending validates the body per message type and names the field", async () => {
        const path = `/api/v1/conversations/${h.fx.convAssigned.id}/messages`;
        const cases: [unknown, string][] = [
          [{}, "content"],
          [{ content: {} }, "content.text"],
          [{ content: { text: "" } }, "content.text"],
          [{ content: { text: "x".repeat(4097) } }, "content.text"],
          [{ message_type: "sticker", content: { text: "x" } }, "message_type"],
          [{ message_type: "image", content: { url: "ftp://x" } }, "content.url"],
          [{ message_type: "template", content: {} }, "content.template_name"],
        ];
        for (const [body, field] of cases) {
          const res = await post(path, body, admin);
          expect(res.status).toBe(400);
          expect((await json<ApiError>(res)).error.field).toBe(field);
        }
      });

      test("a body over HTTP_BODY_LIMIT is 413", async () => {
        const res = await post(
          `/api/v1/conversations/${h.fx.convAssigned.id}/messages`,
          { content: { text: "y".repeat(9000) } },
          admin,
        );
        expect(res.status).toBe(413);
        expect((await json<ApiError>(res)).error.code).toBe("payload_too_large");
      });

      test("a viewer cannot send (403); an agent cannot send in a colleague's conversation (403)", async () => {
        const viewer = await h.token(h.fx.viewer);
        const agent = await h.token(h.fx.agent);
        const v = await post(
          `/api/v1/conversations/${h.fx.convAssigned.id}/messages`,
          { content: { text: "x" } },
          viewer,
        );
        const a = await post(
          `/api/v1/conversations/${h.fx.convOther.id}/messages`,
          { content: { text: "x" } },
          agent,
        );
        expect(v.status).toBe(403);
        expect(a.status).toBe(403);
      });

      test("REST follows the stored user: a demotion applies at the next request, a deleted user's token is 401 unknown_user", async () => {
        const user = h.fx.spare[3]!;
        const token = await h.token(user);
        const path = `/api/v1/conversations/${h.fx.convQueue.id}/messages`;
        expect((await post(path, { content: { text: "as admin" } }, token)).status).toBe(201);

        const db = h.server.ctx.database.db;
        await db.update(users).set({ role: "viewer" }).where(eq(users.id, user.id));
        const demoted = await post(path, { content: { text: "as viewer" } }, token);
        expect(demoted.status).toBe(403);
        expect(await demoted.json()).toMatchObject({ error: { code: "forbidden" } });

        await db.delete(users).where(eq(users.id, user.id));
        const gone = await h.api("/api/v1/conversations", { token });
        expect(gone.status).toBe(401);
        expect(await gone.json()).toMatchObject({ error: { code: "unknown_user" } });
      });

      test("a sent message is stored pending and its status advances to read", async () => {
        const path = `/api/v1/conversations/${h.fx.convAssigned.id}/messages`;
        const { message } = await json<SendMessageResponse>(
          await post(path, { content: { text: "track me" } }, admin),
        );
        expect(message.status).toBe("pending");
        const deadline = Date.now() + WAIT_MS;
        let status = message.status;
        while (status !== "read" && Date.now() < deadline) {
          await Bun.sleep(25);
          const page = await json<MessagesPage>(
            await h.api(`${path}?after=${message.seq - 1}&limit=1`, { token: admin }),
          );
          status = page.data[0]!.status;
        }
        expect(status).toBe("read");
      });
    });

    describe("operations", () => {
      test("GET /health checks the database and answers JSON", async () => {
        const res = await h.api("/health");
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ status: "ok", database: "ok" });
      });

      test("GET /metrics exposes connections, events, auth failures, rate limits and latency", async () => {
        const socket = await h.connect(admin);
        await socket.timeout(WAIT_MS).emitWithAck("ping");
        await h.api("/api/v1/conversations", { token: "garbage" });
        const res = await h.api("/metrics");
        expect(res.headers.get("content-type")).toContain("text/plain");
        const text = await res.text();
        expect(text).toMatch(/^switchboard_active_connections 1$/m);
        expect(text).toMatch(/^switchboard_connections_by_transport\{transport="websocket"\} 1$/m);
        expect(text).toMatch(/^switchboard_events_received_total\{event="ping"\} \d+$/m);
        expect(text).toMatch(/^switchboard_events_emitted_total\{event="pong"\} \d+$/m);
        expect(text).toMatch(/^switchboard_auth_failures_total\{code="invalid_token",via="http"\} 1$/m);
        expect(text).toContain("# TYPE switchboard_rate_limited_events_total counter");
        expect(text).toMatch(/^switchboard_persist_to_emit_seconds_count [1-9]\d*$/m);
        socket.disconnect();
      });

      test("the web UI is served at / and path traversal is refused", async () => {
        const index = await h.api("/");
        expect(index.status).toBe(200);
        expect(await index.text()).toContain("inbox");
        expect((await h.api("/app.js")).headers.get("content-type")).toContain("javascript");
        expect((await h.api("/inbox/some-route")).status).toBe(200);
        for (const path of [
          "/../package.json",
          "/%2e%2e/package.json",
          "/..%2fpackage.json",
          "/%2e%2e%2f%2e%2e%2fetc/passwd",
        ]) {
          const res = await fetch(`${h.url}${path}`);
          expect(res.status).toBe(404);
          expect(await res.text()).not.toContain("switchboard");
        }
      });

      test("unknown API routes answer 404 JSON", async () => {
        const res = await h.api("/api/v1/nothing-here");
        expect(res.status).toBe(404);
        expect((await json<ApiError>(res)).error.code).toBe("not_found");
      });
    });

    // Last: it spends this client address's login budget.
    test("repeated logins from one address are limited with 429", async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 15; i++)
        statuses.push(
          (await post("/api/v1/auth/login", { email: "agent@a.test", password: "guess" })).status,
        );
      expect(statuses).toContain(429);
      expect(statuses.slice(statuses.indexOf(429)).every((s) => s === 429)).toBe(true);
    }, 30_000);
  });
}
