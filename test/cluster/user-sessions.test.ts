/**
 * Account and session changes close live sockets on every node: two chat servers on one PostgreSQL
 * and one Redis; the change is made through node A, the stock socket.io-client sits on node B.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { io as connectClient } from "socket.io-client";
import { type RunningServer, startServer } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import type { ManagedUserResponse } from "../../src/shared/api.ts";
import type { ErrorCode } from "../../src/shared/events.ts";
import { calls, errorOf, json } from "../admin/support.ts";
import {
  type ChatClient,
  disconnected,
  type FixtureUser,
  type Harness,
  next,
  startHarness,
  TEST_PASSWORD,
  TEST_SECRET,
  WAIT_MS,
} from "../chat/harness.ts";
import { type BackendInstance, backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { hasRedis, TEST_REDIS_URL } from "../support/services.ts";
import { uniqueKey } from "./support.ts";

const postgres = (await backends()).find((b) => b.name === "postgres");
const redisUp = await hasRedis();

describe.skipIf(!postgres || !redisUp)("account changes across two nodes over Redis", () => {
  let a: Harness & { instance: BackendInstance };
  let b: RunningServer;
  const sockets: ChatClient[] = [];

  beforeAll(async () => {
    const cluster = {
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: uniqueKey("user-sessions"),
      TRUST_PROXY: "true",
    };
    a = await startHarness(postgres!, cluster);
    b = await startServer(
      loadConfig({
        NODE_ENV: "test",
        PORT: "0",
        HOST: "127.0.0.1",
        JWT_SECRET: TEST_SECRET,
        SEED_DEMO: "false",
        LOG_LEVEL: "silent",
        SHUTDOWN_TIMEOUT_MS: "3000",
        ...a.instance.env,
        ...cluster,
      }),
      { buildWebUi: false },
    );
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await b?.stop();
    await a?.close();
  }, SETUP_TIMEOUT_MS);

  /** A stock client on node B, logged in as `user` through node A. */
  async function onNodeB(user: FixtureUser) {
    const session = await calls(a).session(user.email, TEST_PASSWORD);
    const socket: ChatClient = connectClient(b.url, {
      auth: { token: session.access_token },
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
    });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", reject);
    });
    return { socket, session };
  }

  async function expectClosed(socket: ChatClient, code: ErrorCode, change: () => Promise<Response>) {
    const reason = next(socket, "error", WAIT_MS);
    const gone = disconnected(socket, WAIT_MS);
    const res = await change();
    expect(res.status).toBeLessThan(300);
    expect((await reason).code).toBe(code);
    expect(await gone).toBe("io server disconnect");
  }

  test("a deactivation on node A closes the user's socket on node B with account_disabled", async () => {
    const { socket } = await onNodeB(a.fx.agent);
    const admin = await a.token(a.fx.admin);
    await expectClosed(socket, "account_disabled", () =>
      calls(a).patch(`/api/v1/users/${a.fx.agent.id}`, { active: false }, admin),
    );
    expect((await calls(a).patch(`/api/v1/users/${a.fx.agent.id}`, { active: true }, admin)).status).toBe(
      200,
    );
  });

  test("a role change on node A takes a conversation the new role may not watch from the socket on node B", async () => {
    const { socket } = await onNodeB(a.fx.viewer);
    const joined = await socket.timeout(WAIT_MS).emitWithAck("join_conversation", {
      conversation_id: a.fx.convOther.id,
    });
    expect(joined.ok).toBe(true);
    const left = next(socket, "left_conversation", WAIT_MS);
    const admin = await a.token(a.fx.admin);
    const res = await calls(a).patch(`/api/v1/users/${a.fx.viewer.id}`, { role: "agent" }, admin);
    expect(res.status).toBe(200);
    expect(await left).toMatchObject({ conversation_id: a.fx.convOther.id, reason: "access_revoked" });
    expect(socket.connected).toBe(true);
  });

  test("a password reset on node A closes the user's socket on node B with session_revoked", async () => {
    const { socket } = await onNodeB(a.fx.agent2);
    const admin = await a.token(a.fx.admin);
    await expectClosed(socket, "session_revoked", () =>
      calls(a).post(`/api/v1/users/${a.fx.agent2.id}/password`, {}, admin),
    );
    const reset = await calls(a).post(
      `/api/v1/users/${a.fx.agent2.id}/password`,
      { password: TEST_PASSWORD },
      admin,
    );
    expect((await json<ManagedUserResponse>(reset)).user.id).toBe(a.fx.agent2.id);
  });

  test("a logout on node A closes that session's socket on node B, and only that one", async () => {
    const user = a.fx.spare[0]!;
    const { socket, session } = await onNodeB(user);
    const other = await onNodeB(user);
    await expectClosed(socket, "session_revoked", () =>
      calls(a).post("/api/v1/auth/logout", { refresh_token: session.refresh_token }),
    );
    expect(other.socket.connected).toBe(true);
    const refused = await fetch(`${b.url}/api/v1/auth/me`, {
      headers: { authorization: `Bearer ${session.access_token}` },
    });
    expect((await errorOf(refused)).code).toBe("session_revoked");
  });
});
