/**
 * The typed client module's lifecycle calls and events against the real server: claim, assign,
 * resolve, reopen, counts and presence over REST; conversation:assigned, presence:updated and a
 * server-side removal (conversation:revoked, after which the conversation is no longer re-joined).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSession, type Session } from "../../src/client/index.ts";
import type { ConversationAssignedEvent, LeftConversation, PresenceEvent } from "../../src/shared/events.ts";
import {
  type Backend,
  DEMO_ADMIN_EMAIL,
  DEMO_AGENT_EMAIL,
  DEMO_PASSWORD,
  startBackend,
} from "./support/backend.ts";
import { waitFor } from "./support/wait.ts";

describe("client module: team inbox", () => {
  let backend: Backend;
  let admin: Session;
  let agent: Session;
  let bruno: Session;
  let brunoId = "";
  const open = (email: string) =>
    createSession({
      baseUrl: backend.url,
      email,
      password: DEMO_PASSWORD,
      socketOptions: { reconnectionDelayMs: 50, reconnectionDelayMaxMs: 500 },
    });

  beforeAll(async () => {
    backend = await startBackend();
    brunoId = await backend.addUser("bruno@demo.local", "Bruno", "agent");
    admin = await open(DEMO_ADMIN_EMAIL);
    agent = await open(DEMO_AGENT_EMAIL);
    bruno = await open("bruno@demo.local");
    for (const s of [admin, agent, bruno]) await s.socket.connect();
  }, 60_000);

  afterAll(async () => {
    for (const s of [admin, agent, bruno]) s?.socket.close();
    await backend?.stop();
  });

  test("presence: setPresence answers and the organization hears it; GET /presence lists it", async () => {
    const heard: PresenceEvent[] = [];
    const off = admin.socket.on("presence:updated", (e) => heard.push(e));
    expect(await bruno.socket.setPresence("away")).toMatchObject({ user_id: brunoId, status: "away" });
    await waitFor("presence:updated away", () =>
      heard.some((e) => e.user_id === brunoId && e.status === "away"),
    );
    const list = await admin.api.presence();
    expect(list.data.find((e) => e.user_id === brunoId)?.status).toBe("away");
    await bruno.socket.setPresence("online");
    off();
  });

  test("assign → the recipient hears conversation:assigned; the former assignee's watch ends (revoked)", async () => {
    const id = backend.conversationId; // assigned to the demo agent
    await agent.socket.joinConversation(id);
    const assigned: ConversationAssignedEvent[] = [];
    const revoked: LeftConversation[] = [];
    bruno.socket.on("conversation:assigned", (e) => assigned.push(e));
    agent.socket.on("conversation:revoked", (e) => revoked.push(e));
    const { conversation } = await admin.api.assign(id, brunoId);
    expect(conversation.assigned_agent_id).toBe(brunoId);
    await waitFor("assigned and revoked", () => assigned.length === 1 && revoked.length === 1);
    expect(assigned[0]?.assigned_by?.name).toBe("Demo Admin");
    expect(revoked[0]).toMatchObject({ conversation_id: id, reason: "access_revoked" });

    expect((await bruno.api.resolve(id)).conversation.status).toBe("resolved");
    expect((await bruno.api.reopen(id)).conversation).toMatchObject({
      status: "open",
      assigned_agent_id: brunoId,
    });
    const queued = await bruno.api.assign(id, null);
    expect(queued.conversation.status).toBe("queued");
    expect((await agent.api.claim(id)).conversation.assigned_agent_id).not.toBeNull();
    await expect(bruno.api.claim(id)).rejects.toMatchObject({ status: 409, code: "already_claimed" });
    const counts = await agent.api.conversationCounts();
    expect(counts.mine).toBeGreaterThanOrEqual(1);
    expect(counts.all).toBeUndefined();
  });
});
