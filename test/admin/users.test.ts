/**
 * User administration over REST on both databases: every endpoint, every role, every refusal, the
 * last-admin guard under concurrency, and the live sockets a change closes.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { organizations, users } from "../../db/schema.ts";
import { hashPassword } from "../../src/auth/password.ts";
import type {
  ManagedUser,
  ManagedUserResponse,
  TokenResponse,
  UserListResponse,
} from "../../src/shared/api.ts";
import { disconnected, type Harness, next, startHarness, TEST_PASSWORD } from "../chat/harness.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { type Calls, calls, errorOf, json } from "./support.ts";

const NEW_PASSWORD = "a perfectly good password";
// Some tests hash and check a dozen passwords (argon2id): slow on a loaded 2-core machine.
setDefaultTimeout(60_000);

for (const backend of await backends()) {
  describe(`user administration on ${backend.name}`, () => {
    let h: Harness;
    let api: Calls;
    let admin: string;

    beforeAll(async () => {
      h = await startHarness(backend, { TRUST_PROXY: "true" });
      api = calls(h);
      admin = (await api.session(h.fx.admin.email, TEST_PASSWORD)).access_token;
    }, SETUP_TIMEOUT_MS);
    afterAll(() => h?.close(), SETUP_TIMEOUT_MS);

    let counter = 0;
    const email = (tag: string) => `${tag}-${++counter}@a.test`;
    const create = (body: Record<string, unknown>, token = admin) => api.post("/api/v1/users", body, token);
    const created = async (body: Record<string, unknown>) => {
      const res = await create(body);
      expect(res.status).toBe(201);
      return json<ManagedUserResponse>(res);
    };
    const patch = (id: string, body: unknown, token = admin) => api.patch(`/api/v1/users/${id}`, body, token);

    describe("who may administer", () => {
      test("without a token every endpoint answers 401", async () => {
        expect((await h.api("/api/v1/users")).status).toBe(401);
        expect((await api.post("/api/v1/users", {})).status).toBe(401);
        expect((await api.patch(`/api/v1/users/${h.fx.agent.id}`, { name: "x" })).status).toBe(401);
        expect((await api.post(`/api/v1/users/${h.fx.agent.id}/password`, {})).status).toBe(401);
      });

      for (const role of ["agent", "viewer"] as const) {
        test(`an ${role} gets 403 forbidden on every endpoint`, async () => {
          const token = await h.token(role === "agent" ? h.fx.agent : h.fx.viewer);
          const answers = [
            await h.api("/api/v1/users", { token }),
            await create({ email: email("nope"), name: "No", role: "agent" }, token),
            await patch(h.fx.agent2.id, { name: "Renamed" }, token),
            await api.post(`/api/v1/users/${h.fx.agent2.id}/password`, {}, token),
          ];
          for (const res of answers) {
            expect(res.status).toBe(403);
            expect((await errorOf(res)).code).toBe("forbidden");
          }
        });
      }
    });

    describe("GET /api/v1/users", () => {
      test("lists the users of the admin's organization only, by email, without password hashes", async () => {
        const res = await h.api("/api/v1/users", { token: admin });
        expect(res.status).toBe(200);
        const { data } = await json<UserListResponse>(res);
        expect(data.every((u) => u.organization_id === h.fx.orgA)).toBe(true);
        expect(data.map((u) => u.email)).toContain(h.fx.agent.email);
        expect(data.map((u) => u.email)).not.toContain(h.fx.adminB.email);
        expect(data.map((u) => u.email)).toEqual([...data.map((u) => u.email)].sort());
        const agent = data.find((u) => u.id === h.fx.agent.id)!;
        expect(Object.keys(agent).sort()).toEqual(
          ["active", "created_at", "email", "id", "name", "organization_id", "role"].sort(),
        );
        expect(JSON.stringify(data)).not.toContain("argon2");
      });
    });

    describe("POST /api/v1/users", () => {
      test("creates a user with the given password (201, no password echoed); they can log in", async () => {
        const address = email("created");
        const res = await create({
          email: `  ${address.toUpperCase()} `,
          name: " Ana ",
          role: "agent",
          password: NEW_PASSWORD,
        });
        expect(res.status).toBe(201);
        const body = await json<ManagedUserResponse>(res);
        expect(body.password).toBeUndefined();
        expect(body.user).toMatchObject({
          email: address,
          name: "Ana",
          role: "agent",
          active: true,
          organization_id: h.fx.orgA,
        });
        const login = await api.session(address, NEW_PASSWORD);
        expect(login.user.id).toBe(body.user.id);
      });

      test("without a password, a generated one is answered once and works", async () => {
        const address = email("generated");
        const body = await created({ email: address, name: "Bruno", role: "viewer" });
        expect(body.password).toBeString();
        expect(body.password!.length).toBeGreaterThanOrEqual(12);
        expect((await api.session(address, body.password!)).user.role).toBe("viewer");
        const listed = await json<UserListResponse>(await h.api("/api/v1/users", { token: admin }));
        expect(JSON.stringify(listed)).not.toContain(body.password!);
      });

      test("a duplicate email is 409 email_taken, whatever its case, in any organization", async () => {
        for (const taken of [h.fx.agent.email.toUpperCase(), h.fx.adminB.email]) {
          const res = await create({ email: taken, name: "Twin", role: "agent", password: NEW_PASSWORD });
          expect(res.status).toBe(409);
          expect(await errorOf(res)).toMatchObject({ code: "email_taken", field: "email" });
        }
      });

      test("a weak password is 400 weak_password", async () => {
        for (const password of ["short", "aaaaaaaaaaaaaaaa"]) {
          const res = await create({ email: email("weak"), name: "Weak", role: "agent", password });
          expect(res.status).toBe(400);
          expect(await errorOf(res)).toMatchObject({ code: "weak_password", field: "password" });
        }
      });

      test("bad fields are 400 validation_error naming the field", async () => {
        const cases: [Record<string, unknown>, string][] = [
          [{ name: "N", role: "agent" }, "email"],
          [{ email: "not-an-email", name: "N", role: "agent" }, "email"],
          [{ email: email("x"), role: "agent" }, "name"],
          [{ email: email("x"), name: "   ", role: "agent" }, "name"],
          [{ email: email("x"), name: "x".repeat(101), role: "agent" }, "name"],
          // Empty once the one text rule (src/shared/text.ts) removed its control characters.
          [{ email: email("x"), name: "\u0007\u001b\u0000", role: "agent" }, "name"],
          [{ email: email("x"), name: " \t\r\n ", role: "agent" }, "name"],
          [{ email: email("x"), name: "N", role: "superuser" }, "role"],
          [{ email: email("x"), name: "N" }, "role"],
          [{ email: email("x"), name: "N", role: "agent", password: 42 }, "password"],
        ];
        for (const [body, field] of cases) {
          const res = await create(body);
          expect(res.status).toBe(400);
          expect(await errorOf(res)).toMatchObject({ code: "validation_error", field });
        }
        const notJson = await h.api("/api/v1/users", { method: "POST", body: "{", token: admin });
        expect(notJson.status).toBe(400);
      });

      test("a name goes through the one text rule: control characters removed, line breaks and tabs become spaces, trimmed", async () => {
        const { user } = await created({
          email: email("bell"),
          name: " Bell\u0007\u001b[31m\tRing\r\nTwice\u0085 ",
          role: "agent",
        });
        expect(user.name).toBe("Bell[31m Ring  Twice");
        const renamed = await patch(user.id, { name: "\u0000Re\u0007named\n" });
        expect(renamed.status).toBe(200);
        expect((await json<{ user: { name: string } }>(renamed)).user.name).toBe("Renamed");
        const empty = await patch(user.id, { name: "\u0007\u0001" });
        expect(empty.status).toBe(400);
        expect(await errorOf(empty)).toMatchObject({
          code: "validation_error",
          field: "name",
          message: "name: must not be empty",
        });
      });
    });

    describe("PATCH /api/v1/users/:id", () => {
      test("changes name and role", async () => {
        const { user } = await created({
          email: email("patch"),
          name: "Old",
          role: "agent",
          password: NEW_PASSWORD,
        });
        const res = await patch(user.id, { name: "New Name", role: "viewer" });
        expect(res.status).toBe(200);
        expect((await json<{ user: ManagedUser }>(res)).user).toMatchObject({
          name: "New Name",
          role: "viewer",
          active: true,
        });
      });

      test("unknown, foreign and malformed ids are 404, alike", async () => {
        for (const id of [crypto.randomUUID(), h.fx.adminB.id, "not-a-uuid"]) {
          const res = await patch(id, { name: "Ghost" });
          expect(res.status).toBe(404);
          expect((await errorOf(res)).code).toBe("not_found");
          const reset = await api.post(`/api/v1/users/${id}/password`, {}, admin);
          expect(reset.status).toBe(404);
        }
      });

      test("bad bodies are 400: unknown field, nothing to change, wrong types", async () => {
        const cases: [unknown, string][] = [
          [{ email: "x@y.z" }, "email"],
          [{}, "body"],
          [{ active: "no" }, "active"],
          [{ role: "boss" }, "role"],
          [{ name: "" }, "name"],
        ];
        for (const [body, field] of cases) {
          const res = await patch(h.fx.agent2.id, body);
          expect(res.status).toBe(400);
          expect((await errorOf(res)).field).toBe(field);
        }
      });

      test("deactivation refuses login and closes the user's sockets with account_disabled; activation restores login", async () => {
        const address = email("leaver");
        const { user } = await created({
          email: address,
          name: "Leaver",
          role: "agent",
          password: NEW_PASSWORD,
        });
        const session = await api.session(address, NEW_PASSWORD);
        const socket = await h.connect(session.access_token);
        const reason = next(socket, "error");
        const gone = disconnected(socket);
        const res = await patch(user.id, { active: false });
        expect(res.status).toBe(200);
        expect((await json<{ user: ManagedUser }>(res)).user.active).toBe(false);
        expect((await reason).code).toBe("account_disabled");
        expect(await gone).toBe("io server disconnect");
        expect((await api.login(address, NEW_PASSWORD)).status).toBe(403);
        expect((await h.refused({ token: session.access_token })).data?.code).toBe("account_disabled");
        // The user is still listed (deactivated, never deleted).
        const listed = await json<UserListResponse>(await h.api("/api/v1/users", { token: admin }));
        expect(listed.data.find((u) => u.id === user.id)?.active).toBe(false);
        expect((await patch(user.id, { active: true })).status).toBe(200);
        expect((await api.login(address, NEW_PASSWORD)).status).toBe(200);
        // The sessions revoked by the deactivation stay revoked.
        expect((await h.api("/api/v1/auth/me", { token: session.access_token })).status).toBe(401);
      });

      test("a polling socket also hears why before it is closed", async () => {
        const address = email("poller");
        const { user } = await created({
          email: address,
          name: "Poller",
          role: "agent",
          password: NEW_PASSWORD,
        });
        const session = await api.session(address, NEW_PASSWORD);
        const socket = await h.connect(session.access_token, { transports: ["polling"] });
        const reason = next(socket, "error");
        const gone = disconnected(socket);
        expect((await patch(user.id, { active: false })).status).toBe(200);
        expect((await reason).code).toBe("account_disabled");
        expect(await gone).toBe("io server disconnect");
      });

      test("a role change keeps the user's sockets connected and takes away at once what the new role may not watch", async () => {
        const address = email("demoted");
        const { user } = await created({
          email: address,
          name: "Demoted",
          role: "org_admin",
          password: NEW_PASSWORD,
        });
        const session = await api.session(address, NEW_PASSWORD);
        const socket = await h.connect(session.access_token);
        const joined = await socket.timeout(3000).emitWithAck("join_conversation", {
          conversation_id: h.fx.convOther.id,
        });
        expect(joined.ok).toBe(true);
        const left = next(socket, "left_conversation");
        // The PATCH answers once live sockets are in line (cluster-wide), so the event is already on its way.
        expect((await patch(user.id, { role: "agent" })).status).toBe(200);
        expect(await left).toMatchObject({ conversation_id: h.fx.convOther.id, reason: "access_revoked" });
        expect(socket.connected).toBe(true);
        // The same socket now has the stored role (agent): a colleague's conversation is off limits.
        const refused = await socket.timeout(3000).emitWithAck("join_conversation", {
          conversation_id: h.fx.convOther.id,
        });
        expect(refused).toMatchObject({ ok: false, error: { code: "forbidden" } });
        const again = socket;
        // A name change is not an access change: the socket stays.
        expect((await patch(user.id, { name: "Renamed" })).status).toBe(200);
        await Bun.sleep(300);
        expect(again.connected).toBe(true);
      });
    });

    describe("the last active org_admin", () => {
      /** A fresh organization with `n` active org_admins, logged in. */
      async function orgWithAdmins(n: number): Promise<{ ids: string[]; tokens: string[] }> {
        const db = h.server.ctx.database.db;
        const [org] = await db
          .insert(organizations)
          .values({ name: `Org ${crypto.randomUUID()}` })
          .returning();
        const passwordHash = await hashPassword(TEST_PASSWORD);
        const rows = await db
          .insert(users)
          .values(
            Array.from({ length: n }, (_, i) => ({
              organizationId: org!.id,
              email: email(`boss${i}`),
              name: `Boss ${i}`,
              role: "org_admin" as const,
              passwordHash,
            })),
          )
          .returning();
        const tokens = await Promise.all(
          rows.map(async (r) => (await api.session(r.email, TEST_PASSWORD)).access_token),
        );
        return { ids: rows.map((r) => r.id), tokens };
      }

      test("cannot be demoted or deactivated (409 last_admin), not even by themselves", async () => {
        const { ids, tokens } = await orgWithAdmins(1);
        for (const body of [{ role: "agent" }, { role: "viewer" }, { active: false }]) {
          const res = await patch(ids[0]!, body, tokens[0]);
          expect(res.status).toBe(409);
          expect((await errorOf(res)).code).toBe("last_admin");
        }
        // Promoting someone else first makes it possible.
        const other = await api.post(
          "/api/v1/users",
          { email: email("heir"), name: "Heir", role: "org_admin", password: NEW_PASSWORD },
          tokens[0],
        );
        expect(other.status).toBe(201);
        expect((await patch(ids[0]!, { role: "agent" }, tokens[0])).status).toBe(200);
      });

      test("two admins demoting each other at the same instant: exactly one succeeds", async () => {
        for (let round = 0; round < 3; round++) {
          const { ids, tokens } = await orgWithAdmins(2);
          const answers = await Promise.all([
            patch(ids[1]!, round === 2 ? { active: false } : { role: "agent" }, tokens[0]),
            patch(ids[0]!, { role: "viewer" }, tokens[1]),
          ]);
          const statuses = answers.map((r) => r.status).sort();
          // The loser is refused either by the guard (409) or because its caller was just demoted (403).
          expect(statuses[0]).toBe(200);
          expect([403, 409]).toContain(statuses[1]!);
          const listing = await json<UserListResponse>(
            await h.api("/api/v1/users", { token: answers[0]!.status === 200 ? tokens[0] : tokens[1] }),
          );
          expect(listing.data.filter((u) => u.role === "org_admin" && u.active)).toHaveLength(1);
        }
      });
    });

    describe("POST /api/v1/users/:id/password", () => {
      test("sets the given password, revokes the user's sessions and closes their sockets", async () => {
        const address = email("reset");
        const { user } = await created({
          email: address,
          name: "Reset",
          role: "agent",
          password: NEW_PASSWORD,
        });
        const session = await api.session(address, NEW_PASSWORD);
        const socket = await h.connect(session.access_token);
        const reason = next(socket, "error");
        const gone = disconnected(socket);
        const res = await api.post(
          `/api/v1/users/${user.id}/password`,
          { password: "another good password" },
          admin,
        );
        expect(res.status).toBe(200);
        const body = await json<ManagedUserResponse>(res);
        expect(body.password).toBeUndefined();
        expect((await reason).code).toBe("session_revoked");
        expect(await gone).toBe("io server disconnect");
        expect((await api.login(address, NEW_PASSWORD)).status).toBe(401);
        expect((await api.login(address, "another good password")).status).toBe(200);
        const renewed = await api.post("/api/v1/auth/refresh", { refresh_token: session.refresh_token });
        expect((await errorOf(renewed)).code).toBe("session_revoked");
      });

      test("without a password, generates one and answers it once; a weak one is 400", async () => {
        const address = email("regen");
        const { user } = await created({
          email: address,
          name: "Regen",
          role: "agent",
          password: NEW_PASSWORD,
        });
        const body = await json<ManagedUserResponse>(
          await api.post(`/api/v1/users/${user.id}/password`, {}, admin),
        );
        expect(body.password).toBeString();
        expect((await api.session(address, body.password!)).user.id).toBe(user.id);
        const weak = await api.post(`/api/v1/users/${user.id}/password`, { password: "123" }, admin);
        expect(weak.status).toBe(400);
        expect((await errorOf(weak)).code).toBe("weak_password");
      });
    });

    test("a created agent's token response names them", async () => {
      const address = email("named");
      await created({ email: address, name: "Named Agent", role: "agent", password: NEW_PASSWORD });
      const session: TokenResponse = await api.session(address, NEW_PASSWORD);
      expect(session.user).toMatchObject({ email: address, name: "Named Agent", role: "agent" });
    });
  });
}
