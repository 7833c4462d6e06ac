/**
 * The conversation lifecycle over REST, on both databases: claim, assign, resolve, reopen (by a
 * user and by an inbound message), the first reply's claim, for every role, with every refusal and
 * its code; each action is a system line in the thread and goes out live.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { contacts, conversations, messages, users } from "../../db/schema.ts";
import type { Conversation, ConversationActionResponse, MessagesPage } from "../../src/shared/api.ts";
import type { Message } from "../../src/shared/events.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { type ChatClient, type FixtureUser, type Harness, next, startHarness } from "./harness.ts";
import { postWebhook, webhookPayload, webhookTextMessage } from "./webhook-payloads.ts";

for (const backend of await backends()) {
  describe(`conversation lifecycle on ${backend.name}`, () => {
    let h: Harness;
    const sockets: ChatClient[] = [];
    beforeAll(async () => {
      h = await startHarness(backend, { SANDBOX_STEP_MS: "60000" });
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => {
      for (const s of sockets) s.disconnect();
      await h?.close();
    }, SETUP_TIMEOUT_MS);

    const db = () => h.server.ctx.database.db;
    let contactSeq = 0;
    /** A fresh conversation of org A with its own contact. */
    const conversation = async (assignee: FixtureUser | null, status?: "queued" | "open" | "resolved") => {
      const [contact] = await db()
        .insert(contacts)
        .values({
          organizationId: h.fx.orgA,
          whatsappId: `1666${String(++contactSeq).padStart(7, "0")}${backend.name.length}`,
          name: `Contact ${contactSeq}`,
        })
        .returning();
      const [row] = await db()
        .insert(conversations)
        .values({
          organizationId: h.fx.orgA,
          contactId: contact!.id,
          assignedAgentId: assignee?.id ?? null,
          status: status ?? (assignee ? "open" : "queued"),
        })
        .returning();
      return { ...row!, whatsappId: contact!.whatsappId };
    };

    const act = async (user: FixtureUser, id: string, action: string, body?: unknown) => {
      const res = await h.api(`/api/v1/conversations/${id}/${action}`, {
        method: "POST",
        token: await h.token(user),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return {
        status: res.status,
        body: (await res.json()) as ConversationActionResponse & { error?: { code: string } },
      };
    };

    const systemLines = async (id: string): Promise<Message[]> => {
      const res = await h.api(`/api/v1/conversations/${id}/messages?after=0`, {
        token: await h.token(h.fx.admin),
      });
      return ((await res.json()) as MessagesPage).data.filter((m) => m.sender_type === "system");
    };

    const stored = async (id: string) => {
      const [row] = await db().select().from(conversations).where(eq(conversations.id, id));
      return row!;
    };

    const inbox = async (user: FixtureUser) => {
      const socket = await h.connect(await h.token(user));
      sockets.push(socket);
      await h.greeting(socket);
      return socket;
    };

    test("an agent claims a queued conversation: open, assigned to them, a system line names them", async () => {
      const c = await conversation(null);
      const { status, body } = await act(h.fx.agent, c.id, "claim");
      expect(status).toBe(200);
      expect(body.conversation).toMatchObject({ id: c.id, status: "open", assigned_agent_id: h.fx.agent.id });
      const lines = await systemLines(c.id);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        sender_type: "system",
        sender_id: h.fx.agent.id,
        content: {
          text: `${h.fx.agent.name} claimed this conversation`,
          action: { kind: "claimed", actor_id: h.fx.agent.id, assignee_id: h.fx.agent.id },
        },
      });
    });

    test("two agents claiming at the same instant: exactly one wins, the other gets 409 already_claimed", async () => {
      for (let round = 0; round < 3; round++) {
        const c = await conversation(null);
        const results = await Promise.all([act(h.fx.agent, c.id, "claim"), act(h.fx.agent2, c.id, "claim")]);
        const statuses = results.map((r) => r.status).sort();
        expect(statuses).toEqual([200, 409]);
        const loser = results.find((r) => r.status === 409)!;
        expect(loser.body.error?.code).toBe("already_claimed");
        const winner = results.find((r) => r.status === 200)!;
        expect((await stored(c.id)).assignedAgentId).toBe(winner.body.conversation.assigned_agent_id);
        expect(await systemLines(c.id)).toHaveLength(1);
      }
    });

    test("claim refusals: a viewer 403, an assigned one 409 already_claimed, a resolved one 409, another organization's 404", async () => {
      const queued = await conversation(null);
      expect((await act(h.fx.viewer, queued.id, "claim")).body.error?.code).toBe("forbidden");
      expect((await act(h.fx.viewer, queued.id, "claim")).status).toBe(403);
      const taken = await conversation(h.fx.agent2);
      const again = await act(h.fx.agent, taken.id, "claim");
      expect([again.status, again.body.error?.code]).toEqual([409, "already_claimed"]);
      const resolved = await conversation(null, "resolved");
      const r = await act(h.fx.agent, resolved.id, "claim");
      expect([r.status, r.body.error?.code]).toEqual([409, "conversation_resolved"]);
      const foreign = await act(h.fx.agent, h.fx.convB.id, "claim");
      expect([foreign.status, foreign.body.error?.code]).toEqual([404, "not_found"]);
      const unknown = await act(h.fx.agent, crypto.randomUUID(), "claim");
      expect(unknown.status).toBe(404);
      expect(await systemLines(queued.id)).toHaveLength(0);
      expect((await stored(queued.id)).status).toBe("queued");
    });

    test("an org_admin assigns to an agent: the assignee hears conversation:assigned, the queue hears the update", async () => {
      const c = await conversation(null);
      const assignee = await inbox(h.fx.agent2);
      const queueWatcher = await inbox(h.fx.agent);
      const assigned = next(assignee, "conversation:assigned", undefined, (e) => e.conversation.id === c.id);
      const leftQueue = next(queueWatcher, "conversation:updated", undefined, (u) => u.id === c.id);
      const { status, body } = await act(h.fx.admin, c.id, "assign", { agent_id: h.fx.agent2.id });
      expect(status).toBe(200);
      expect(body.conversation).toMatchObject({ status: "open", assigned_agent_id: h.fx.agent2.id });
      expect(await assigned).toMatchObject({
        conversation: { id: c.id, assigned_agent_id: h.fx.agent2.id },
        assigned_by: { id: h.fx.admin.id, name: h.fx.admin.name },
      });
      expect((await leftQueue).assigned_agent_id).toBe(h.fx.agent2.id);
      const [line] = await systemLines(c.id);
      expect(line!.content.text).toBe(`${h.fx.admin.name} assigned this to ${h.fx.agent2.name}`);
    });

    test("assign refusals: a viewer, a deactivated user, another organization's user, an unknown id, no change", async () => {
      const c = await conversation(h.fx.agent);
      const toViewer = await act(h.fx.admin, c.id, "assign", { agent_id: h.fx.viewer.id });
      expect([toViewer.status, toViewer.body.error?.code]).toEqual([400, "assignee_not_agent"]);
      const foreign = await act(h.fx.admin, c.id, "assign", { agent_id: h.fx.adminB.id });
      expect([foreign.status, foreign.body.error?.code]).toEqual([400, "assignee_not_found"]);
      const unknown = await act(h.fx.admin, c.id, "assign", { agent_id: crypto.randomUUID() });
      expect([unknown.status, unknown.body.error?.code]).toEqual([400, "assignee_not_found"]);
      const same = await act(h.fx.admin, c.id, "assign", { agent_id: h.fx.agent.id });
      expect([same.status, same.body.error?.code]).toEqual([409, "no_change"]);
      const bad = await act(h.fx.admin, c.id, "assign", { agent_id: "bruno" });
      expect([bad.status, bad.body.error?.code]).toEqual([400, "validation_error"]);
      const missing = await act(h.fx.admin, c.id, "assign", {});
      expect(missing.status).toBe(400);
      const spare = h.fx.spare[0]!;
      await db().update(users).set({ active: false }).where(eq(users.id, spare.id));
      try {
        const inactive = await act(h.fx.admin, c.id, "assign", { agent_id: spare.id });
        expect([inactive.status, inactive.body.error?.code]).toEqual([409, "assignee_inactive"]);
      } finally {
        await db().update(users).set({ active: true }).where(eq(users.id, spare.id));
      }
      expect(await systemLines(c.id)).toHaveLength(0);
      expect((await stored(c.id)).assignedAgentId).toBe(h.fx.agent.id);
    });

    test("an agent hands over their own conversation or sends it back to the queue, but not a queued or a colleague's one", async () => {
      const own = await conversation(h.fx.agent);
      const handOver = await act(h.fx.agent, own.id, "assign", { agent_id: h.fx.agent2.id });
      expect([handOver.status, handOver.body.conversation.assigned_agent_id]).toEqual([200, h.fx.agent2.id]);
      const back = await act(h.fx.agent2, own.id, "assign", { agent_id: null });
      expect(back.status).toBe(200);
      expect(back.body.conversation).toMatchObject({ status: "queued", assigned_agent_id: null });
      expect((await systemLines(own.id)).map((l) => l.content.action?.kind)).toEqual([
        "assigned",
        "unassigned",
      ]);
      const queued = await conversation(null);
      const q = await act(h.fx.agent, queued.id, "assign", { agent_id: h.fx.agent2.id });
      expect([q.status, q.body.error?.code]).toEqual([403, "forbidden"]);
      const colleague = await conversation(h.fx.agent2);
      const col = await act(h.fx.agent, colleague.id, "assign", { agent_id: h.fx.agent.id });
      expect([col.status, col.body.error?.code]).toEqual([403, "forbidden"]);
      const viewer = await act(h.fx.viewer, colleague.id, "assign", { agent_id: h.fx.agent.id });
      expect([viewer.status, viewer.body.error?.code]).toEqual([403, "forbidden"]);
    });

    test("resolve keeps the assignee; resolving twice is 409 already_resolved; a viewer or a colleague may not", async () => {
      const c = await conversation(h.fx.agent);
      expect((await act(h.fx.viewer, c.id, "resolve")).status).toBe(403);
      expect((await act(h.fx.agent2, c.id, "resolve")).status).toBe(403);
      const done = await act(h.fx.agent, c.id, "resolve");
      expect(done.status).toBe(200);
      expect(done.body.conversation).toMatchObject({ status: "resolved", assigned_agent_id: h.fx.agent.id });
      const twice = await act(h.fx.agent, c.id, "resolve");
      expect([twice.status, twice.body.error?.code]).toEqual([409, "already_resolved"]);
      const assignResolved = await act(h.fx.admin, c.id, "assign", { agent_id: h.fx.agent2.id });
      expect([assignResolved.status, assignResolved.body.error?.code]).toEqual([
        409,
        "conversation_resolved",
      ]);
      expect((await systemLines(c.id)).map((l) => l.content.text)).toEqual([
        `${h.fx.agent.name} resolved this conversation`,
      ]);
    });

    test("reopen goes back to the last assignee while active, to the queue otherwise; only a resolved one", async () => {
      const open = await conversation(h.fx.agent);
      const notResolved = await act(h.fx.admin, open.id, "reopen");
      expect([notResolved.status, notResolved.body.error?.code]).toEqual([409, "not_resolved"]);
      const c = await conversation(h.fx.agent, "resolved");
      expect((await act(h.fx.viewer, c.id, "reopen")).status).toBe(403);
      const back = await act(h.fx.admin, c.id, "reopen");
      expect(back.body.conversation).toMatchObject({ status: "open", assigned_agent_id: h.fx.agent.id });

      const spare = h.fx.spare[1]!;
      const orphan = await conversation(spare, "resolved");
      await db().update(users).set({ active: false }).where(eq(users.id, spare.id));
      try {
        const queued = await act(h.fx.admin, orphan.id, "reopen");
        expect(queued.body.conversation).toMatchObject({ status: "queued", assigned_agent_id: null });
      } finally {
        await db().update(users).set({ active: true }).where(eq(users.id, spare.id));
      }
    });

    test("an inbound message reopens a resolved conversation (to its active assignee), without a second conversation", async () => {
      const c = await conversation(h.fx.agent, "resolved");
      const agentSocket = await inbox(h.fx.agent);
      const assigned = next(
        agentSocket,
        "conversation:assigned",
        undefined,
        (e) => e.conversation.id === c.id,
      );
      const res = await postWebhook(
        h,
        webhookPayload({ messages: [webhookTextMessage(`wamid.reopen-${c.id}`, c.whatsappId, "me again")] }),
      );
      expect(res.status).toBe(200);
      expect((await assigned).assigned_by).toBeNull();
      const row = await stored(c.id);
      expect([row.status, row.assignedAgentId]).toEqual(["open", h.fx.agent.id]);
      const all = await db().select().from(messages).where(eq(messages.conversationId, c.id));
      expect(all.map((m) => m.senderType).sort()).toEqual(["contact", "system"]);
      const count = await db().select().from(conversations).where(eq(conversations.contactId, row.contactId));
      expect(count).toHaveLength(1);
    });

    test("an inbound message reopens an unassigned resolved conversation into the queue", async () => {
      const c = await conversation(null, "resolved");
      await postWebhook(
        h,
        webhookPayload({ messages: [webhookTextMessage(`wamid.reopen-q-${c.id}`, c.whatsappId, "hello?")] }),
      );
      const row = await stored(c.id);
      expect([row.status, row.assignedAgentId]).toEqual(["queued", null]);
      const [line] = await systemLines(c.id);
      expect(line!.content.action).toMatchObject({ kind: "reopened", actor_id: null, assignee_id: null });
    });

    test("an agent's first reply to a queued conversation claims it; a viewer cannot reply", async () => {
      const c = await conversation(null);
      const send = async (user: FixtureUser) =>
        h.api(`/api/v1/conversations/${c.id}/messages`, {
          method: "POST",
          token: await h.token(user),
          body: JSON.stringify({ content: { text: "on it" } }),
        });
      expect((await send(h.fx.viewer)).status).toBe(403);
      expect((await send(h.fx.agent)).status).toBe(201);
      const row = await stored(c.id);
      expect([row.status, row.assignedAgentId]).toEqual(["open", h.fx.agent.id]);
      // The colleague was too slow: the conversation is no longer theirs to answer.
      expect((await send(h.fx.agent2)).status).toBe(403);
      expect((await systemLines(c.id)).map((l) => l.content.action?.kind)).toEqual(["claimed"]);
    });

    test("an org_admin claims, resolves and reopens any conversation; their reply does not claim a queued one", async () => {
      const queued = await conversation(null);
      const reply = await h.api(`/api/v1/conversations/${queued.id}/messages`, {
        method: "POST",
        token: await h.token(h.fx.admin),
        body: JSON.stringify({ content: { text: "an admin answers" } }),
      });
      expect(reply.status).toBe(201);
      expect((await stored(queued.id)).status).toBe("queued");
      const claimed = await act(h.fx.admin, queued.id, "claim");
      expect(claimed.body.conversation).toMatchObject({ status: "open", assigned_agent_id: h.fx.admin.id });
      const colleague = await conversation(h.fx.agent2);
      expect((await act(h.fx.admin, colleague.id, "resolve")).status).toBe(200);
      const reopened = await act(h.fx.admin, colleague.id, "reopen");
      expect(reopened.body.conversation).toMatchObject({ status: "open", assigned_agent_id: h.fx.agent2.id });
    });

    test("an agent resolves and reopens a queued conversation, but not a colleague's resolved one", async () => {
      const queued = await conversation(null);
      const done = await act(h.fx.agent, queued.id, "resolve");
      expect(done.body.conversation).toMatchObject({ status: "resolved", assigned_agent_id: null });
      const back = await act(h.fx.agent, queued.id, "reopen");
      expect(back.body.conversation).toMatchObject({ status: "queued", assigned_agent_id: null });
      const colleagues = await conversation(h.fx.agent2, "resolved");
      const refused = await act(h.fx.agent, colleagues.id, "reopen");
      expect([refused.status, refused.body.error?.code]).toEqual([403, "forbidden"]);
      const foreign = await act(h.fx.admin, h.fx.convB.id, "resolve");
      expect([foreign.status, foreign.body.error?.code]).toEqual([404, "not_found"]);
    });

    test("a resolve goes out live: the system line to the room, conversation:updated to the inbox, nothing to another organization", async () => {
      const c = await conversation(h.fx.agent);
      const admin = await inbox(h.fx.admin);
      const otherOrg = await inbox(h.fx.adminB);
      const heardB: Conversation[] = [];
      otherOrg.on("conversation:updated", (u) => heardB.push(u));
      const watcher = await inbox(h.fx.agent);
      await watcher.timeout(3000).emitWithAck("join_conversation", { conversation_id: c.id });
      const line = next(watcher, "message:new", undefined, (m) => m.sender_type === "system");
      const update = next(admin, "conversation:updated", undefined, (u) => u.id === c.id);
      expect((await act(h.fx.agent, c.id, "resolve")).status).toBe(200);
      expect((await line).content.action?.kind).toBe("resolved");
      expect((await update).status).toBe("resolved");
      expect(heardB.filter((u) => u.id === c.id)).toEqual([]);
    });

    test("lists: an agent sees the queue and their own, never a colleague's; view=all is for admins and viewers", async () => {
      const mine = await conversation(h.fx.agent);
      const colleague = await conversation(h.fx.agent2);
      const queued = await conversation(null);
      const list = async (user: FixtureUser, view?: string) => {
        const res = await h.api(`/api/v1/conversations?limit=100${view ? `&view=${view}` : ""}`, {
          token: await h.token(user),
        });
        return {
          status: res.status,
          ids: res.ok ? ((await res.json()) as { data: Conversation[] }).data.map((c) => c.id) : [],
        };
      };
      const agentDefault = await list(h.fx.agent);
      expect(agentDefault.ids).toContain(mine.id);
      expect(agentDefault.ids).toContain(queued.id);
      expect(agentDefault.ids).not.toContain(colleague.id);
      expect((await list(h.fx.agent, "mine")).ids).toEqual(
        expect.not.arrayContaining([queued.id, colleague.id]),
      );
      expect((await list(h.fx.agent, "mine")).ids).toContain(mine.id);
      const queue = await list(h.fx.agent, "queue");
      expect(queue.ids).toContain(queued.id);
      expect(queue.ids).not.toContain(mine.id);
      expect((await list(h.fx.agent, "all")).status).toBe(403);
      for (const user of [h.fx.admin, h.fx.viewer]) {
        const all = await list(user, "all");
        expect(all.ids).toEqual(expect.arrayContaining([mine.id, colleague.id, queued.id]));
        expect(all.ids).not.toContain(h.fx.convB.id);
      }
      expect((await list(h.fx.agent, "everything")).status).toBe(400);
      const counts = await h.api("/api/v1/conversations/counts", { token: await h.token(h.fx.agent) });
      const body = (await counts.json()) as { mine: number; queue: number; all?: number };
      expect(body.mine).toBeGreaterThanOrEqual(1);
      expect(body.all).toBeUndefined();
      const adminCounts = (await (
        await h.api("/api/v1/conversations/counts", { token: await h.token(h.fx.admin) })
      ).json()) as { all?: number };
      expect(adminCounts.all).toBeGreaterThanOrEqual(3);
    });

    test("an agent cannot read a colleague's conversation (403) nor another organization's (404)", async () => {
      const colleague = await conversation(h.fx.agent2);
      const read = await h.api(`/api/v1/conversations/${colleague.id}/messages`, {
        token: await h.token(h.fx.agent),
      });
      expect(read.status).toBe(403);
      const foreign = await h.api(`/api/v1/conversations/${h.fx.convB.id}/messages`, {
        token: await h.token(h.fx.agent),
      });
      expect(foreign.status).toBe(404);
    });

    test("a deactivated user's token is refused on REST with account_disabled", async () => {
      const spare = h.fx.spare[2]!;
      const token = await h.token(spare);
      await db().update(users).set({ active: false }).where(eq(users.id, spare.id));
      try {
        const res = await h.api("/api/v1/conversations", { token });
        // 403, not 401: the account is known, just not allowed (docs/administration.md).
        expect(res.status).toBe(403);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("account_disabled");
        const refused = await h.refused({ token });
        expect(refused.data?.code).toBe("account_disabled");
      } finally {
        await db().update(users).set({ active: true }).where(eq(users.id, spare.id));
      }
    });
  });
}
