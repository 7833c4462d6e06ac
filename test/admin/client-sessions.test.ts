/**
 * The typed client module against the real server with rotating refresh tokens: the TokenManager keeps
 * the newest refresh token through many refreshes, the socket client reconnects after a role change,
 * and stops (unauthorized) when the account is disabled or the session is logged out.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { users } from "../../db/schema.ts";
import { type ConnectionChange, createSession, type Session } from "../../src/client/index.ts";
import { type Backend, DEMO_PASSWORD, startBackend } from "../client/support/backend.ts";
import { waitFor } from "../client/support/wait.ts";

describe("client sessions against the real server", () => {
  let backend: Backend;
  const sessions: Session[] = [];

  beforeAll(async () => {
    backend = await startBackend({ env: { ACCESS_TOKEN_TTL: "60" } });
  }, 60_000);
  afterAll(async () => {
    for (const s of sessions) s.socket.close();
    await backend?.stop();
  });

  async function login(email: string): Promise<{ session: Session; states: ConnectionChange[] }> {
    const session = await createSession({
      baseUrl: backend.url,
      email,
      password: DEMO_PASSWORD,
      socketOptions: { transports: ["websocket"], reconnectionDelayMs: 50, reconnectionDelayMaxMs: 200 },
    });
    sessions.push(session);
    const states: ConnectionChange[] = [];
    session.socket.onConnectionChange((change) => states.push(change));
    await session.socket.connect();
    return { session, states };
  }

  const user = async (email: string, role: "agent" | "org_admin" | "viewer" = "agent") =>
    backend.addUser(email, email.split("@")[0]!, role);

  test("the token manager keeps the newest refresh token through consecutive rotations", async () => {
    await user("rotating@demo.local");
    const { session } = await login("rotating@demo.local");
    const seen = new Set([session.tokens.refreshToken]);
    for (let i = 0; i < 3; i++) {
      await session.tokens.refresh();
      expect(seen.has(session.tokens.refreshToken)).toBe(false);
      seen.add(session.tokens.refreshToken);
    }
    expect(session.tokens.sessionExpired).toBe(false);
    expect((await session.api.listConversations()).data).toBeArray();
  });

  test("a role change keeps the socket client connected (the server applies the new role live)", async () => {
    const id = await user("promoted@demo.local");
    const { session, states } = await login("promoted@demo.local");
    const admin = await createSession({
      baseUrl: backend.url,
      email: "admin@demo.local",
      password: DEMO_PASSWORD,
    });
    const before = states.length;
    await admin.api.updateUser(id, { role: "viewer" });
    // The PATCH answers once the live sockets are in line: nothing closed them.
    expect(session.socket.state).toBe("connected");
    expect(states.slice(before)).toEqual([]);
  });

  test("a deactivation leaves the socket client unauthorized (no reconnection loop)", async () => {
    const id = await user("disabled@demo.local");
    const { session, states } = await login("disabled@demo.local");
    await backend.running.ctx.database.db.update(users).set({ active: false }).where(eq(users.id, id));
    backend.running.ctx.liveSessions.endUserSessions(id, "account_disabled");
    await waitFor("unauthorized", () => session.socket.state === "unauthorized");
    expect(states.at(-1)).toMatchObject({ state: "unauthorized", code: "account_disabled" });
  });

  test("logout ends the session: the socket client becomes unauthorized and the refresh token is dead", async () => {
    await user("leaving@demo.local");
    const { session } = await login("leaving@demo.local");
    const refreshToken = session.tokens.refreshToken;
    await session.api.logout(refreshToken);
    await waitFor("unauthorized", () => session.socket.state === "unauthorized");
    await expect(session.api.refresh(refreshToken)).rejects.toMatchObject({
      status: 401,
      code: "session_revoked",
    });
  });
});
