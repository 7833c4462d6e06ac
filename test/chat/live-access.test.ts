/**
 * Access follows every change on live sockets (stock socket.io-client): a reassignment, a demotion,
 * a deactivation and auth:refresh take away what the socket may no longer see within a second, and
 * the removed socket gets no further `message:new` of that conversation. Run on one node (both
 * databases) and on two nodes over Redis, where the watcher is on the node that did NOT make the
 * change. Also: MAX_CONVERSATIONS_PER_SOCKET holds under a burst of concurrent joins.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { io as connectClient } from "socket.io-client";
import { contacts, conversations, users } from "../../db/schema.ts";
import type { RunningServer } from "../../src/app.ts";
import type { UserRole } from "../../src/shared/events.ts";
import { uniqueKey } from "../cluster/support.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { hasRedis, TEST_REDIS_URL } from "../support/services.ts";
import {
  type ChatClient,
  collect,
  disconnected,
  type FixtureUser,
  type Harness,
  next,
  sleep,
  startHarness,
  startPeer,
  WAIT_MS,
} from "./harness.ts";

/** The bound: access is gone within a second. */
const REVOKE_MS = 1000;
/** Long enough for an event that is coming to arrive. */
const SILENCE_MS = 300;

interface Setup {
  name: string;
  start(): Promise<{
    h: Harness & { instance: Awaited<ReturnType<typeof startHarness>>["instance"] };
    watchUrl: string;
    peer?: RunningServer;
  }>;
}

const setups: Setup[] = [];
for (const backend of await backends())
  setups.push({
    name: `one node on ${backend.name}`,
    async start() {
      const h = await startHarness(backend, { SANDBOX_STEP_MS: "60000", MAX_CONVERSATIONS_PER_SOCKET: "10" });
      return { h, watchUrl: h.url };
    },
  });
const postgres = (await backends()).find((b) => b.name === "postgres");
if (postgres && (await hasRedis()))
  setups.push({
    name: "two nodes over Redis",
    async start() {
      const cluster = {
        SANDBOX_STEP_MS: "60000",
        MAX_CONVERSATIONS_PER_SOCKET: "10",
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: uniqueKey("live-access"),
      };
      const h = await startHarness(postgres, cluster);
      const peer = await startPeer(h, cluster);
      return { h, watchUrl: peer.url, peer };
    },
  });

for (const setup of setups) {
  describe(`live access, ${setup.name}`, () => {
    let h: Awaited<ReturnType<Setup["start"]>>["h"];
    let watchUrl = "";
    let peer: RunningServer | undefined;
    const sockets: ChatClient[] = [];
    beforeAll(async () => {
      ({ h, watchUrl, peer } = await setup.start());
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => {
      for (const s of sockets) s.disconnect();
      await peer?.stop();
      await h?.close();
    }, SETUP_TIMEOUT_MS);

    const db = () => h.server.ctx.database.db;
    let contactSeq = 0;
    const conversation = async (assignee: FixtureUser | null) => {
      const [contact] = await db()
        .insert(contacts)
        .values({ organizationId: h.fx.orgA, whatsappId: `1777${String(++contactSeq).padStart(7, "0")}` })
        .returning();
      const [row] = await db()
        .insert(conversations)
        .values({
          organizationId: h.fx.orgA,
          contactId: contact!.id,
          assignedAgentId: assignee?.id ?? null,
          status: assignee ? "open" : "queued",
        })
        .returning();
      return row!;
    };

    /** A socket of `user` on the watching node (the other node in a cluster). */
    const watcher = async (user: FixtureUser): Promise<ChatClient> => {
      const socket: ChatClient = connectClient(watchUrl, {
        auth: { token: await h.token(user) },
        transports: ["websocket"],
        forceNew: true,
        reconnection: false,
        timeout: WAIT_MS,
      });
      sockets.push(socket);
      const greeted = next(socket, "connected");
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("connect_error", reject);
      });
      await greeted;
      return socket;
    };

    const join = async (socket: ChatClient, id: string) => {
      const ack = await socket.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id });
      return ack;
    };

    const post = async (id: string, text: string) => {
      const res = await h.api(`/api/v1/conversations/${id}/messages`, {
        method: "POST",
        token: await h.token(h.fx.admin),
        body: JSON.stringify({ content: { text } }),
      });
      expect(res.status).toBe(201);
    };

    const setRole = async (user: FixtureUser, role: UserRole) => {
      await db().update(users).set({ role }).where(eq(users.id, user.id));
      await h.server.realtime.liveAccess.reconcileUser(user.id);
    };

    const setActive = (user: FixtureUser, active: boolean) =>
      db().update(users).set({ active }).where(eq(users.id, user.id));

    test("reassignment: the former assignee's socket leaves (access_revoked) and hears no more message:new", async () => {
      const c = await conversation(h.fx.agent);
      const socket = await watcher(h.fx.agent);
      expect(await join(socket, c.id)).toMatchObject({ ok: true });
      const heard = collect(socket, "message:new");
      await post(c.id, "before");
      await sleep(SILENCE_MS);
      expect(heard.map((m) => m.content.text)).toContain("before");
      const left = next(socket, "left_conversation", REVOKE_MS, (l) => l.conversation_id === c.id);
      const res = await h.api(`/api/v1/conversations/${c.id}/assign`, {
        method: "POST",
        token: await h.token(h.fx.admin),
        body: JSON.stringify({ agent_id: h.fx.agent2.id }),
      });
      expect(res.status).toBe(200);
      expect(await left).toMatchObject({ conversation_id: c.id, reason: "access_revoked" });
      const newAssignee = await watcher(h.fx.agent2);
      expect(await join(newAssignee, c.id)).toMatchObject({ ok: true });
      const assigneeHeard = next(newAssignee, "message:new", WAIT_MS, (m) => m.content.text === "after");
      await post(c.id, "after");
      await assigneeHeard;
      await sleep(SILENCE_MS);
      expect(heard.map((m) => m.content.text)).not.toContain("after");
      // And it cannot come back in.
      expect(await join(socket, c.id)).toMatchObject({ ok: false, error: { code: "forbidden" } });
    });

    test("a claim takes the conversation away from the other agents who watched it in the queue", async () => {
      const c = await conversation(null);
      const other = await watcher(h.fx.agent2);
      expect(await join(other, c.id)).toMatchObject({ ok: true });
      const left = next(other, "left_conversation", REVOKE_MS, (l) => l.conversation_id === c.id);
      const res = await h.api(`/api/v1/conversations/${c.id}/claim`, {
        method: "POST",
        token: await h.token(h.fx.agent),
      });
      expect(res.status).toBe(200);
      expect((await left).reason).toBe("access_revoked");
    });

    test("demotion org_admin → agent: a colleague's conversation is revoked, the org rooms follow the role", async () => {
      const user = h.fx.spare[0]!;
      const c = await conversation(h.fx.agent2);
      const socket = await watcher(user);
      expect(await join(socket, c.id)).toMatchObject({ ok: true });
      const heard = collect(socket, "message:new");
      const updates = collect(socket, "conversation:updated");
      const left = next(socket, "left_conversation", REVOKE_MS, (l) => l.conversation_id === c.id);
      try {
        await setRole(user, "agent");
        expect((await left).reason).toBe("access_revoked");
        await post(c.id, "after demotion");
        await sleep(SILENCE_MS);
        expect(heard).toEqual([]);
        // No longer in the organization's inbox: a colleague's conversation's update does not reach it.
        expect(updates.filter((u) => u.id === c.id)).toEqual([]);
        // But in the queue room now: a queued conversation's update does.
        const queued = await conversation(null);
        const queueUpdate = next(socket, "conversation:updated", WAIT_MS, (u) => u.id === queued.id);
        await post(queued.id, "to the queue");
        await queueUpdate;
      } finally {
        await setRole(user, "org_admin");
      }
    });

    test("demotion to viewer: typing is refused from then on, reading stays", async () => {
      const user = h.fx.spare[1]!;
      const c = await conversation(null);
      const socket = await watcher(user);
      expect(await join(socket, c.id)).toMatchObject({ ok: true });
      try {
        await setRole(user, "viewer");
        // The socket's data on its own node follows (server-side event in a cluster): poll until it does.
        const deadline = Date.now() + REVOKE_MS;
        let answer: unknown;
        do {
          // typing_start's ack is optional and untyped in the event map.
          const untyped = socket.timeout(WAIT_MS) as unknown as {
            emitWithAck(ev: string, payload: unknown): Promise<unknown>;
          };
          answer = await untyped.emitWithAck("typing_start", { conversation_id: c.id });
          if ((answer as { ok: boolean }).ok === false) break;
          await sleep(50);
        } while (Date.now() < deadline);
        expect(answer).toMatchObject({ ok: false, error: { code: "forbidden" } });
      } finally {
        await setRole(user, "org_admin");
      }
    });

    test("deactivation: reconcileUser disconnects every socket of the user within a second", async () => {
      const user = h.fx.spare[2]!;
      const a = await watcher(user);
      const b = await watcher(user);
      const errors = collect(a, "error");
      await setActive(user, false);
      try {
        const gone = [disconnected(a, REVOKE_MS), disconnected(b, REVOKE_MS)];
        await h.server.realtime.liveAccess.reconcileUser(user.id);
        expect(await Promise.all(gone)).toEqual(["io server disconnect", "io server disconnect"]);
        if (errors.length > 0) expect(errors[0]?.code).toBe("account_disabled");
      } finally {
        await setActive(user, true);
      }
    });

    test("revoked sessions (password change): every socket of the user is disconnected with session_revoked", async () => {
      const user = h.fx.viewer;
      const socket = await watcher(user);
      const errors = collect(socket, "error");
      const gone = disconnected(socket, REVOKE_MS);
      // The one path logout, password changes and resets take (src/realtime/user-sessions.ts).
      h.server.ctx.liveSessions.endUserSessions(user.id, "session_revoked");
      expect(await gone).toBe("io server disconnect");
      if (errors.length > 0) expect(errors[0]?.code).toBe("session_revoked");
    });

    test("auth:refresh re-reads the user: a demotion applies to the live socket at once", async () => {
      const user = h.fx.spare[3]!;
      const c = await conversation(h.fx.agent2);
      const socket = await watcher(user);
      expect(await join(socket, c.id)).toMatchObject({ ok: true });
      const left = next(socket, "left_conversation", REVOKE_MS, (l) => l.conversation_id === c.id);
      await db().update(users).set({ role: "agent" }).where(eq(users.id, user.id));
      try {
        const ack = await socket.timeout(WAIT_MS).emitWithAck("auth:refresh", { token: await h.token(user) });
        expect(ack).toMatchObject({ ok: true });
        expect((await left).reason).toBe("access_revoked");
      } finally {
        await setRole(user, "org_admin");
      }
    });

    test("auth:refresh re-reads the user: a deactivated account is disconnected", async () => {
      const user = h.fx.spare[3]!;
      const socket = await watcher(user);
      const token = await h.token(user);
      await setActive(user, false);
      try {
        const gone = disconnected(socket, WAIT_MS);
        socket.emit("auth:refresh", { token });
        expect(await gone).toBe("io server disconnect");
      } finally {
        await setActive(user, true);
      }
    });

    test("MAX_CONVERSATIONS_PER_SOCKET holds under a burst of 15 concurrent joins (cap 10)", async () => {
      const ids = await Promise.all(Array.from({ length: 15 }, () => conversation(null)));
      const socket = await watcher(h.fx.admin);
      const acks = await Promise.all(ids.map((c) => join(socket, c.id)));
      const ok = acks.filter((a) => (a as { ok: boolean }).ok).length;
      expect(ok).toBe(10);
      expect(acks.filter((a) => !(a as { ok: boolean }).ok)).toHaveLength(5);
      for (const refused of acks.filter((a) => !(a as { ok: boolean }).ok))
        expect(refused).toMatchObject({ error: { code: "too_many_conversations" } });
    });
  });
}
