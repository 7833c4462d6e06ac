/** Committed changes → `message:new` / `message:status` to the conversation's room, in order. */
import type { ChatMetrics } from "../metrics/chat-metrics.ts";
import type { ChatEvent, ChatNotifier } from "../services/notifier.ts";
import { conversationRoom } from "../shared/events.ts";
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
      else this.io.to(conversationRoom(event.status.conversation_id)).emit("message:status", event.status);
      this.metrics.eventsEmitted.inc({ event: event.kind });
      this.metrics.persistToEmit.observe((performance.now() - committedAt) / 1000);
    }
  }
}
