/**
 * How services announce committed changes without knowing about sockets. The realtime layer
 * implements it (message events to `conversation:{id}`, inbox updates to those who may see the
 * conversation); tests and scripts can record or ignore.
 * Services call it only after the transaction that stored the change has committed.
 */
import type { Conversation } from "../shared/api.ts";
import type { ConversationAssignedEvent, Message, MessageStatusEvent, Uuid } from "../shared/events.ts";

/** A committed change, in the order it must reach clients. */
export type ChatEvent =
  | { kind: "message:new"; message: Message }
  | { kind: "message:status"; status: MessageStatusEvent }
  /**
   * A conversation's inbox entry changed (a message was stored in it, or a lifecycle action).
   * `formerAssignee` is set when the assignee changed: the audience of the former state hears it
   * too (so it leaves the other agents' queue, or the former assignee's Mine tab).
   */
  | { kind: "conversation:updated"; conversation: Conversation; formerAssignee?: Uuid | null }
  /** To the new assignee. */
  | { kind: "conversation:assigned"; assigned: ConversationAssignedEvent };

export interface ChatNotifier {
  /** `committedAt` is `performance.now()` right after the commit (for the latency histogram). */
  publish(events: readonly ChatEvent[], committedAt: number): void;
}

export const silentNotifier: ChatNotifier = { publish: () => {} };

/** Keeps every event (tests). */
export class RecordingNotifier implements ChatNotifier {
  readonly events: ChatEvent[] = [];
  publish(events: readonly ChatEvent[]): void {
    this.events.push(...events);
  }
}
