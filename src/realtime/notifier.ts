/**
 * Committed changes → `message:new` / `message:status` to the conversation's room,
 * `conversation:updated` to the inbox audiences that may see the conversation (the access rule's
 * inboxAudience, src/services/access.ts; after a change of assignee, the former audience too), and
 * `conversation:assigned` to the new assignee's room, in order.
 */
import type { ChatMetrics } from "../metrics/chat-metrics.ts";
import { inboxAudience } from "../services/access.ts";
import type { ChatEvent, ChatNotifier } from "../services/notifier.ts";
import type { Conversation } from "../shared/api.ts";
import { conversationRoom, type Uuid, userRoom } from "../shared/events.ts";
import type { ChatServer } from "./types.ts";

export class RealtimeNotifier implements ChatNotifier {
  constructor(
    private readonly io: ChatServer,
    private readonly metrics: ChatMetrics,
  ) {}

  publish(events: readonly ChatEvent[], committedAt: number): void {
    for (const event of events) {
      switch (event.kind) {
        case "message:new":
          this.io.to(conversationRoom(event.message.conversation_id)).emit("message:new", event.message);
          break;
        case "message:status":
          this.io.to(conversationRoom(event.status.conversation_id)).emit("message:status", event.status);
          break;
        case "conversation:updated":
          emitOnce(this.io, updateAudience(event.conversation, event.formerAssignee), event);
          break;
        case "conversation:assigned": {
          const assignee = event.assigned.conversation.assigned_agent_id;
          if (assignee) this.io.to(userRoom(assignee)).emit("conversation:assigned", event.assigned);
          break;
        }
      }
      this.metrics.eventsEmitted.inc({ event: event.kind });
      this.metrics.persistToEmit.observe((performance.now() - committedAt) / 1000);
    }
  }
}

/**
 * `io.to(rooms).emit(…)` as one emit per room, each except the rooms before it: every socket still
 * hears the event once, but each emit has one room and the adapter sends it through the
 * transport's native publish (encoded once, no per-socket write), where an emit to several rooms
 * is written socket by socket. With 100 admins watching, that per-socket write of each message's
 * `conversation:updated` was a quarter of the chat path's CPU (BENCHMARKS.md, Performance II).
 */
function emitOnce(
  io: ChatServer,
  rooms: readonly string[],
  event: Extract<ChatEvent, { kind: "conversation:updated" }>,
): void {
  for (let i = 0; i < rooms.length; i++) {
    const to = io.to(rooms[i]!);
    (i === 0 ? to : to.except(rooms.slice(0, i))).emit("conversation:updated", event.conversation);
  }
}

const scopeOf = (c: Conversation, assignee: Uuid | null) => ({
  organizationId: c.organization_id,
  assignedAgentId: assignee,
});

/** Who hears a conversation's update: its audience now, plus the former one after a change of assignee. */
export function updateAudience(conversation: Conversation, formerAssignee?: Uuid | null): string[] {
  const now = inboxAudience(scopeOf(conversation, conversation.assigned_agent_id));
  if (formerAssignee === undefined || formerAssignee === conversation.assigned_agent_id) return now;
  return [...new Set([...now, ...inboxAudience(scopeOf(conversation, formerAssignee))])];
}
