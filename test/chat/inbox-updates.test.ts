/**
 * `conversation:updated`: the inbox list stays live without joining every conversation. Each stored
 * message updates the conversation's entry for everyone who may watch it (the join rule: org_admin
 * and viewer every conversation of their organization, an agent the queue and their own) and for
 * nobody else; an inbound message from a new contact makes its new conversation appear.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Conversation, SendMessageResponse } from "../../src/shared/api.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { type ChatClient, collect, type Harness, next, sleep, startHarness } from "./harness.ts";
import { postWebhook, webhookPayload, webhookTextMessage } from "./webhook-payloads.ts";

/** Long enough for an event that is coming to arrive once the expected ones have. */
const SILENCE_MS = 200;

for (const backend of await backends()) {
  describe(`inbox updates on ${backend.name}`, () => {
    let h: Harness;
    const sockets: ChatClient[] = [];
    beforeAll(async () => {
      h = await startHarness(backend, { SANDBOX_STEP_MS: "60000" });
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => {
      for (const s of sockets) s.disconnect();
      await h?.close();
    }, SETUP_TIMEOUT_MS);

    /** A connected socket of `user` (greeted, so its rooms are joined) that records inbox updates. */
    const inboxOf = async (user: Harness["fx"]["admin"]) => {
      const socket = await h.connect(await h.token(user));
      sockets.push(socket);
      await h.greeting(socket);
      return { socket, updates: collect(socket, "conversation:updated") };
    };

    const post = async (conversationId: string, text: string) => {
      const res = await h.api(`/api/v1/conversations/${conversationId}/messages`, {
        method: "POST",
        token: await h.token(h.fx.admin),
        body: JSON.stringify({ content: { text } }),
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as SendMessageResponse).message;
    };

    test("a message in an assigned conversation reaches the admins, viewers and its agent, not a colleague or another organization", async () => {
      const admin = await inboxOf(h.fx.admin);
      const viewer = await inboxOf(h.fx.viewer);
      const assignee = await inboxOf(h.fx.agent);
      const colleague = await inboxOf(h.fx.agent2);
      const otherOrg = await inboxOf(h.fx.adminB);
      const heard = [admin, viewer, assignee].map(({ socket }) =>
        next(socket, "conversation:updated", undefined, (c) => c.id === h.fx.convAssigned.id),
      );

      const message = await post(h.fx.convAssigned.id, "inbox: assigned");
      const updates = await Promise.all(heard);
      for (const update of updates)
        expect(update).toMatchObject({
          id: h.fx.convAssigned.id,
          organization_id: h.fx.orgA,
          assigned_agent_id: h.fx.agent.id,
          last_seq: message.seq,
          last_message_at: message.created_at,
          contact: { whatsapp_id: h.fx.contactWhatsappId },
        });
      await sleep(SILENCE_MS);
      expect(colleague.updates).toEqual([]);
      expect(otherOrg.updates).toEqual([]);
      // Exactly one update per message, also for a user in two audiences' rooms.
      expect(admin.updates.filter((c) => c.last_seq === message.seq)).toHaveLength(1);
    });

    test("a message in an unassigned conversation reaches every agent's queue", async () => {
      const agent = await inboxOf(h.fx.agent);
      const agent2 = await inboxOf(h.fx.agent2);
      const heard = [agent, agent2].map(({ socket }) =>
        next(socket, "conversation:updated", undefined, (c) => c.id === h.fx.convQueue.id),
      );
      const message = await post(h.fx.convQueue.id, "inbox: queue");
      for (const update of await Promise.all(heard))
        expect(update).toMatchObject({
          id: h.fx.convQueue.id,
          assigned_agent_id: null,
          last_seq: message.seq,
        });
    });

    test("an inbound message from a new contact makes its new conversation appear, queued, for admins and agents", async () => {
      const admin = await inboxOf(h.fx.admin);
      const agent = await inboxOf(h.fx.agent);
      const otherOrg = await inboxOf(h.fx.adminB);
      const newContact = `4915550${Date.now() % 1_000_000}`;
      const isNew = (c: Conversation) => c.contact.whatsapp_id === newContact;
      const heard = [admin, agent].map(({ socket }) =>
        next(socket, "conversation:updated", undefined, isNew),
      );

      const res = await postWebhook(
        h,
        webhookPayload({
          contacts: [{ wa_id: newContact, profile: { name: "New Customer" } }],
          messages: [webhookTextMessage(`wamid.inbox.${newContact}`, newContact, "hello, anyone there?")],
        }),
      );
      expect(res.status).toBe(200);
      const [forAdmin, forAgent] = await Promise.all(heard);
      expect(forAdmin).toMatchObject({
        organization_id: h.fx.orgA,
        status: "queued",
        assigned_agent_id: null,
        last_seq: 1,
        contact: { whatsapp_id: newContact, name: "New Customer" },
      });
      expect(forAgent).toEqual(forAdmin!);
      // The entry is the one the REST list gives for the same conversation.
      const list = (await (
        await h.api("/api/v1/conversations?limit=100", { token: await h.token(h.fx.admin) })
      ).json()) as { data: Conversation[] };
      expect(list.data.find(isNew)).toEqual(forAdmin!);
      await sleep(SILENCE_MS);
      expect(otherOrg.updates.filter(isNew)).toEqual([]);
    });

    test("a socket in two rooms of the audience (an admin the conversation is assigned to) hears each update once", async () => {
      const admin = await inboxOf(h.fx.admin);
      const newContact = `4915551${Date.now() % 1_000_000}`;
      const created = next(
        admin.socket,
        "conversation:updated",
        undefined,
        (c) => c.contact.whatsapp_id === newContact,
      );
      const res = await postWebhook(
        h,
        webhookPayload({
          contacts: [{ wa_id: newContact, profile: { name: "Assigned To Admin" } }],
          messages: [webhookTextMessage(`wamid.inbox.${newContact}`, newContact, "hi")],
        }),
      );
      expect(res.status).toBe(200);
      const conversation = await created;
      const assigned = await h.api(`/api/v1/conversations/${conversation.id}/assign`, {
        method: "POST",
        token: await h.token(h.fx.admin),
        body: JSON.stringify({ agent_id: h.fx.admin.id }),
      });
      expect(assigned.status).toBe(200);
      const heard = next(
        admin.socket,
        "conversation:updated",
        undefined,
        (c) =>
          c.id === conversation.id &&
          c.assigned_agent_id === h.fx.admin.id &&
          c.last_seq > conversation.last_seq + 1,
      );
      const message = await post(conversation.id, "inbox: assigned to an admin");
      expect((await heard).last_seq).toBe(message.seq);
      await sleep(SILENCE_MS);
      // The organization's inbox room and the admin's own room both name this socket: one update.
      expect(
        admin.updates.filter((c) => c.id === conversation.id && c.last_seq === message.seq),
      ).toHaveLength(1);
    });
  });
}
