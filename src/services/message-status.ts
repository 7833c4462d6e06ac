/**
 * The message status machine: pending → sent → delivered → read moves forward only (a step may be
 * skipped); failed is reachable from pending and sent and is terminal. Late or repeated reports
 * (a webhook retry, "delivered" after "read") are no-ops.
 */
import type { MessageStatus } from "../shared/events.ts";

const RANK: Record<MessageStatus, number> = { pending: 0, sent: 1, delivered: 2, read: 3, failed: 4 };

/** True when a message in `from` may move to `to`. */
export function canAdvance(from: MessageStatus, to: MessageStatus): boolean {
  if (from === "failed" || from === to) return false;
  if (to === "failed") return from === "pending" || from === "sent";
  return RANK[to] > RANK[from];
}

/** The statuses `to` may be reached from (for a guarded UPDATE … WHERE status IN (…)). */
export function predecessors(to: MessageStatus): MessageStatus[] {
  return (Object.keys(RANK) as MessageStatus[]).filter((from) => canAdvance(from, to));
}

/** A step's time column: set once, by the first report that reaches or passes the step. */
export type StepStamp = "sentAt" | "deliveredAt" | "readAt";

/**
 * The step times a message reaching `to` gets (skipped steps get the same time: a message read was
 * also delivered and sent). "failed" stamps none of them (it has its own failedAt and reason).
 */
export function stampsOf(to: Exclude<MessageStatus, "failed">): StepStamp[] {
  const stamps: StepStamp[] = [];
  if (RANK[to] >= RANK.sent) stamps.push("sentAt");
  if (RANK[to] >= RANK.delivered) stamps.push("deliveredAt");
  if (RANK[to] >= RANK.read) stamps.push("readAt");
  return stamps;
}

/** Of several reports about one message, the one that wins when they are applied together. */
export function furthest(a: MessageStatus, b: MessageStatus): MessageStatus {
  // A delivery or read report proves the message did not fail, whatever else arrived with it.
  if (a === "failed") return RANK[b] >= RANK.delivered && b !== "failed" ? b : a;
  if (b === "failed") return RANK[a] >= RANK.delivered ? a : b;
  return RANK[b] > RANK[a] ? b : a;
}
