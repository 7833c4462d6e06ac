/**
 * Committed changes → `message:new` / `message:status` to the conversation's room, and
 * `conversation:updated` to the inbox audiences that may see the conversation (the same rule as
 * joining it: org_admin and viewer every one, agents the queue and their own), in order.
 */
import type { ChatMetrics } from "../metrics/chat-metrics.ts";
import type { ChatEvent, ChatNotifier } from "../services/notifier.ts";
import type { Conversation } from "../shared/api.ts";
import {
  conversationRoom,
  organizationInboxRoom,
  organizationQueueRoom,
  userRoom,
} from "../shared/events.ts";
import type { ChatServer } from "./types.ts";

export class RealtimeNotifier implements ChatNotifier {
  constructor(
    private readonly io: ChatServer,
    private readonly metrics: ChatMetrics,
  ) {}

  publish(events: readonly ChatEvent[], committedAt: number): void {
    for (const event of events) {
      if (event.kind === "message:new")
        this.io.to(conversationRoom(event.message.conversation_id)).emit("message:new", event.message);
      else if (event.kind === "message:status")
        this.io.to(conversationRoom(event.status.conversation_id)).emit("message:status", event.status);
      else this.io.to(inboxAudience(event.conversation)).emit("conversation:updated", event.conversation);
      this.metrics.eventsEmitted.inc({ event: event.kind });
      this.metrics.persistToEmit.observe((performance.now() - committedAt) / 1000);
    }
  }
}

/** Who may see `conversation` in their inbox: see canWatch in src/services/conversations.ts. */
export function inboxAudience(conversation: Conversation): string[] {
  const org = conversation.organization_id;
  const agents =
    conversation.assigned_agent_id === null
      ? organizationQueueRoom(org)
      : userRoom(conversation.assigned_agent_id);
  return [organizationInboxRoom(org), agents];
}
