/**
 * Login sessions on both databases: refresh-token rotation, reuse detection, logout (and what it does
 * to live sockets), expiry, deactivated accounts, and one's own password change.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { eq } from "drizzle-orm";
import { users } from "../../db/schema.ts";
import { SessionStore } from "../../src/auth/sessions.ts";
import { TokenService } from "../../src/auth/tokens.ts";
import type { TokenResponse } from "../../src/shared/api.ts";
import {
  disconnected,
  type Harness,
  next,
  sleep,
  startHarness,
  TEST_PASSWORD,
  TEST_SECRET,
} from "../chat/harness.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { type Calls, calls, errorOf, json } from "./support.ts";

// Some tests hash and check several passwords (argon2id): slow on a loaded 2-core machine.
setDefaultTimeout(60_000);

for (const backend of await backends()) {
  describe(`sessions on ${backend.name}`, () => {
    let h: Harness;
    let api: Calls;

    beforeAll(async () => {
      h = await startHarness(backend, { TRUST_PROXY: "true" });
      api = calls(h);
    }, SETUP_TIMEOUT_MS);
    afterAll(() => h?.close(), SETUP_TIMEOUT_MS);

    const refresh = (token: string) => api.post("/api/v1/auth/refresh", { refresh_token: token });
    const me = (token: string) => h.api("/api/v1/auth/me", { token });
    const setActive = (id: string, active: boolean) =>
      h.server.ctx.database.db.update(users).set({ active }).where(eq(users.id, id));

    test("every refresh rotates: a new refresh token each time, and the old one is spent", async () => {
      const login = await api.session(h.fx.agent.email, TEST_PASSWORD);
      const first = await refresh(login.refresh_token);
      expect(first.status).toBe(200);
      const rotated = await json<TokenResponse>(first);
      expect(rotated.refresh_token).not.toBe(login.refresh_token);
      expect(rotated.user.id).toBe(h.fx.agent.id);
      const second = await refresh(rotated.refresh_token);
      expect(second.status).toBe(200);
      expect((await me((await json<TokenResponse>(second)).access_token)).status).toBe(200);
    });

    test("reusing a rotated refresh token revokes the whole session, its newest tokens included", async () => {
      const login = await api.session(h.fx.agent.email, TEST_PASSWORD);
      const rotated = await json<TokenResponse>(await refresh(login.refresh_token));
      const reuse = await refresh(login.refresh_token);
      expect(reuse.status).toBe(401);
      expect((await errorOf(reuse)).code).toBe("refresh_token_reused");
      // The legitimate holder's newer tokens die with the session.
      const newest = await refresh(rotated.refresh_token);
      expect(newest.status).toBe(401);
      expect((await errorOf(newest)).code).toBe("session_revoked");
      const access = await me(rotated.access_token);
      expect(access.status).toBe(401);
      expect((await errorOf(access)).code).toBe("session_revoked");
      // Another session of the same user is untouched.
      const other = await api.session(h.fx.agent.email, TEST_PASSWORD);
      expect((await me(other.access_token)).status).toBe(200);
    });

    test("two concurrent refreshes with one token: exactly one rotates, the other is a reuse", async () => {
      const login = await api.session(h.fx.agent2.email, TEST_PASSWORD);
      const answers = await Promise.all([refresh(login.refresh_token), refresh(login.refresh_token)]);
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 401]);
      const loser = answers.find((r) => r.status === 401)!;
      expect((await errorOf(loser)).code).toBe("refresh_token_reused");
    });

    test("a reused refresh token closes the live sockets of its session", async () => {
      const login = await api.session(h.fx.agent2.email, TEST_PASSWORD);
      const rotated = await json<TokenResponse>(await refresh(login.refresh_token));
      const socket = await h.connect(rotated.access_token);
      const reason = next(socket, "error");
      const gone = disconnected(socket);
      expect((await refresh(login.refresh_token)).status).toBe(401);
      expect((await reason).code).toBe("session_revoked");
      expect(await gone).toBe("io server disconnect");
    });

    test("logout revokes its session: tokens refused, its sockets closed, other sessions untouched", async () => {
      const phone = await api.session(h.fx.viewer.email, TEST_PASSWORD);
      const laptop = await api.session(h.fx.viewer.email, TEST_PASSWORD);
      const phoneSocket = await h.connect(phone.access_token);
      const laptopSocket = await h.connect(laptop.access_token);
      const reason = next(phoneSocket, "error");
      const gone = disconnected(phoneSocket);
      const res = await api.post("/api/v1/auth/logout", { refresh_token: phone.refresh_token });
      expect(res.status).toBe(204);
      expect((await reason).code).toBe("session_revoked");
      expect(await gone).toBe("io server disconnect");
      expect((await errorOf(await refresh(phone.refresh_token))).code).toBe("session_revoked");
      expect((await errorOf(await me(phone.access_token))).code).toBe("session_revoked");
      expect((await h.refused({ token: phone.access_token })).data?.code).toBe("session_revoked");
      // The laptop's session lives on.
      expect(laptopSocket.connected).toBe(true);
      expect((await me(laptop.access_token)).status).toBe(200);
      expect((await refresh(laptop.refresh_token)).status).toBe(200);
      // Logging out twice is fine; garbage is not a refresh token.
      expect((await api.post("/api/v1/auth/logout", { refresh_token: phone.refresh_token })).status).toBe(
        204,
      );
      const garbage = await api.post("/api/v1/auth/logout", { refresh_token: "not-a-token" });
      expect(garbage.status).toBe(401);
      expect((await api.post("/api/v1/auth/logout", {})).status).toBe(400);
    });

    test("auth:refresh on a live socket refuses a token of a revoked session", async () => {
      const user = h.fx.agent;
      const live = await api.session(user.email, TEST_PASSWORD);
      const socket = await h.connect(live.access_token);
      const ended = await api.session(user.email, TEST_PASSWORD);
      expect((await api.post("/api/v1/auth/logout", { refresh_token: ended.refresh_token })).status).toBe(
        204,
      );
      const answer = await socket.timeout(3000).emitWithAck("auth:refresh", { token: ended.access_token });
      expect(answer).toMatchObject({ ok: false, error: { code: "session_revoked" } });
      const fine = await socket.timeout(3000).emitWithAck("auth:refresh", { token: live.access_token });
      expect(fine.ok).toBe(true);
    });

    test("an expired refresh token is refused", async () => {
      const shortLived = new SessionStore(
        h.server.ctx.database.db,
        new TokenService({ secret: TEST_SECRET, refreshTtlS: 1 }),
      );
      const [user] = await h.server.ctx.database.db.select().from(users).where(eq(users.id, h.fx.agent.id));
      const issued = await shortLived.start(user!);
      await sleep(2100);
      const res = await refresh(issued.refresh_token);
      expect(res.status).toBe(401);
      expect((await errorOf(res)).code).toBe("token_expired");
    });

    test("a refresh token that belongs to no session (minted outside login) is refused", async () => {
      const minted = await h.server.ctx.tokens.sign(
        { id: h.fx.agent.id, organization_id: h.fx.orgA, role: "agent" },
        "refresh",
      );
      const res = await refresh(minted);
      expect(res.status).toBe(401);
      expect((await errorOf(res)).code).toBe("invalid_token");
    });

    test("a refresh applies the stored role, not the one of the old token", async () => {
      const spare = h.fx.spare[0]!;
      const login = await api.session(spare.email, TEST_PASSWORD);
      await h.server.ctx.database.db.update(users).set({ role: "viewer" }).where(eq(users.id, spare.id));
      try {
        const rotated = await json<TokenResponse>(await refresh(login.refresh_token));
        expect(rotated.user.role).toBe("viewer");
      } finally {
        await h.server.ctx.database.db.update(users).set({ role: "org_admin" }).where(eq(users.id, spare.id));
      }
    });

    describe("a deactivated account", () => {
      test("cannot log in (403 account_disabled, only with the right password), refresh or connect", async () => {
        const user = h.fx.spare[1]!;
        const before = await api.session(user.email, TEST_PASSWORD);
        await setActive(user.id, false);
        try {
          const login = await api.login(user.email, TEST_PASSWORD);
          expect(login.status).toBe(403);
          expect((await errorOf(login)).code).toBe("account_disabled");
          const wrong = await api.login(user.email, "not the password at all");
          expect(wrong.status).toBe(401);
          expect((await errorOf(wrong)).code).toBe("invalid_credentials");
          const access = await me(before.access_token);
          expect(access.status).toBe(403);
          expect((await errorOf(access)).code).toBe("account_disabled");
          const legacy = await me(await h.token(user));
          expect((await errorOf(legacy)).code).toBe("account_disabled");
          const renewed = await refresh(before.refresh_token);
          expect(renewed.status).toBe(403);
          expect((await errorOf(renewed)).code).toBe("account_disabled");
          expect((await h.refused({ token: before.access_token })).data?.code).toBe("account_disabled");
        } finally {
          await setActive(user.id, true);
        }
      });
    });

    describe("changing one's own password", () => {
      const change = (token: string, body: unknown) => api.post("/api/v1/auth/password", body, token);

      test("needs the current password and a strong new one", async () => {
        const s = await api.session(h.fx.spare[2]!.email, TEST_PASSWORD);
        const wrong = await change(s.access_token, {
          current_password: "not my password",
          new_password: "a brand new password",
        });
        expect(wrong.status).toBe(403);
        expect(await errorOf(wrong)).toMatchObject({ code: "wrong_password", field: "current_password" });
        const weak = await change(s.access_token, { current_password: TEST_PASSWORD, new_password: "short" });
        expect(weak.status).toBe(400);
        expect(await errorOf(weak)).toMatchObject({ code: "weak_password", field: "new_password" });
        const missing = await change(s.access_token, { new_password: "a brand new password" });
        expect(missing.status).toBe(400);
        expect((await errorOf(missing)).field).toBe("current_password");
        const anonymous = await api.post("/api/v1/auth/password", {
          current_password: TEST_PASSWORD,
          new_password: "a brand new password",
        });
        expect(anonymous.status).toBe(401);
      });

      test("revokes every session and closes the user's sockets; the answer is a new session", async () => {
        const user = h.fx.spare[3]!;
        const a = await api.session(user.email, TEST_PASSWORD);
        const b = await api.session(user.email, TEST_PASSWORD);
        const socket = await h.connect(b.access_token);
        const reason = next(socket, "error");
        const gone = disconnected(socket);
        const res = await change(a.access_token, {
          current_password: TEST_PASSWORD,
          new_password: "a brand new password",
        });
        expect(res.status).toBe(200);
        const fresh = await json<TokenResponse>(res);
        expect((await reason).code).toBe("session_revoked");
        expect(await gone).toBe("io server disconnect");
        for (const old of [a, b]) {
          expect((await errorOf(await me(old.access_token))).code).toBe("session_revoked");
          expect((await errorOf(await refresh(old.refresh_token))).code).toBe("session_revoked");
        }
        expect((await me(fresh.access_token)).status).toBe(200);
        expect((await api.login(user.email, TEST_PASSWORD)).status).toBe(401);
        expect((await api.login(user.email, "a brand new password")).status).toBe(200);
      });
    });
  });
}
