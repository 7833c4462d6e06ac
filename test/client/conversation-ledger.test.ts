import { describe, expect, test } from "bun:test";
import { ConversationLedger, isStatusAdvance } from "../../src/client/index.ts";
import type { Message } from "../../src/shared/events.ts";

const CONVERSATION = "7d1f6a52-8c0e-4a57-9a51-3f0a0c6f0c01";

function message(seq: number, overrides: Partial<Message> = {}): Message {
  return {
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, "0")}`,
    conversation_id: CONVERSATION,
    organization_id: "11111111-1111-4111-8111-111111111111",
    seq,
    direction: "inbound",
    sender_type: "contact",
    sender_id: null,
    message_type: "text",
    content: { text: `message ${seq}` },
    status: "sent",
    whatsapp_message_id: null,
    error_code: null,
    error_message: null,
    created_at: new Date(1_800_000_000_000 + seq * 1000).toISOString(),
    sent_at: null,
    delivered_at: null,
    read_at: null,
    failed_at: null,
    ...overrides,
  };
}

describe("ConversationLedger", () => {
  test("a message seen twice is fresh only the first time", () => {
    const ledger = new ConversationLedger(CONVERSATION);
    ledger.observeLastSeq(0);
    expect(ledger.accept(message(1)).fresh).toBe(true);
    expect(ledger.accept(message(1)).fresh).toBe(false);
    expect(ledger.contiguousSeq).toBe(1);
  });

  test("the first last_seq is a baseline, not a gap", () => {
    const ledger = new ConversationLedger(CONVERSATION);
    expect(ledger.observeLastSeq(42)).toBeNull();
    expect(ledger.accept(message(43))).toEqual({ fresh: true, gapAfter: null });
  });

  test("a jump in seq reports the gap to fetch from, and filling it closes the gap", () => {
    const ledger = new ConversationLedger(CONVERSATION);
    ledger.observeLastSeq(3);
    expect(ledger.accept(message(6))).toEqual({ fresh: true, gapAfter: 3 });
    expect(ledger.hasGap).toBe(true);
    expect(ledger.highestSeq).toBe(6);
    expect(ledger.accept(message(4)).gapAfter).toBe(4);
    expect(ledger.accept(message(5))).toEqual({ fresh: true, gapAfter: null });
    expect(ledger.contiguousSeq).toBe(6);
    expect(ledger.hasGap).toBe(false);
  });

  test("a later last_seq above what was seen asks for a catch-up from the contiguous seq", () => {
    const ledger = new ConversationLedger(CONVERSATION);
    ledger.observeLastSeq(2);
    ledger.accept(message(3));
    expect(ledger.observeLastSeq(3)).toBeNull();
    expect(ledger.observeLastSeq(7)).toBe(3);
  });

  test("messages that arrive before the baseline are kept and counted once it is known", () => {
    const ledger = new ConversationLedger(CONVERSATION);
    expect(ledger.accept(message(5)).fresh).toBe(true);
    expect(ledger.observeLastSeq(4)).toBeNull();
    expect(ledger.contiguousSeq).toBe(5);
  });

  test("history raises the baseline and marks its messages as seen", () => {
    const ledger = new ConversationLedger(CONVERSATION);
    const fresh = ledger.observeHistory([message(3), message(2), message(1)]);
    expect(fresh.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(ledger.contiguousSeq).toBe(3);
    expect(ledger.accept(message(2)).fresh).toBe(false);
    expect(ledger.observeHistory([message(3), message(4)]).map((m) => m.seq)).toEqual([4]);
  });

  test("statuses only move forward and duplicates are dropped", () => {
    const ledger = new ConversationLedger(CONVERSATION);
    const m = message(1, { status: "pending" });
    ledger.accept(m);
    expect(ledger.acceptStatus({ message_id: m.id, status: "sent" })).toBe(true);
    expect(ledger.acceptStatus({ message_id: m.id, status: "sent" })).toBe(false);
    expect(ledger.acceptStatus({ message_id: m.id, status: "read" })).toBe(true);
    expect(ledger.acceptStatus({ message_id: m.id, status: "delivered" })).toBe(false);
    expect(ledger.statusOf(m.id)).toBe("read");
  });

  test("a status of a message not seen yet does not hide the message when it arrives", () => {
    const ledger = new ConversationLedger(CONVERSATION);
    ledger.observeLastSeq(0);
    const m = message(1, { status: "read" });
    expect(ledger.acceptStatus({ message_id: m.id, status: "read" })).toBe(true);
    expect(ledger.accept(m).fresh).toBe(true);
    expect(ledger.acceptStatus({ message_id: m.id, status: "read" })).toBe(false);
  });

  test("a status heard before its message wins over the older status the message arrives with", () => {
    const ledger = new ConversationLedger(CONVERSATION);
    ledger.observeLastSeq(0);
    const m = message(1, { status: "sent" });
    const early = { message_id: m.id, status: "read" as const, timestamp: "2027-01-15T08:00:00.000Z" };
    expect(ledger.acceptStatus({ message_id: m.id, status: "delivered" })).toBe(true);
    expect(ledger.acceptStatus(early)).toBe(true);
    expect(ledger.acceptStatus({ message_id: m.id, status: "delivered" })).toBe(false);
    expect(ledger.statusOf(m.id)).toBeUndefined(); // kept apart: the message is not "seen"
    expect(ledger.accept(m)).toEqual({ fresh: true, gapAfter: null, laterStatus: early });
    expect(ledger.statusOf(m.id)).toBe("read");
    expect(ledger.acceptStatus({ message_id: m.id, status: "read" })).toBe(false);
    expect(ledger.accept(m)).toEqual({ fresh: false, gapAfter: null }); // used once
  });

  test("an early status behind the message's own is dropped; an early failed ends a sent message", () => {
    const ledger = new ConversationLedger(CONVERSATION);
    ledger.observeLastSeq(0);
    const ahead = message(1, { status: "read" });
    ledger.acceptStatus({ message_id: ahead.id, status: "delivered" });
    expect(ledger.accept(ahead).laterStatus).toBeUndefined();
    expect(ledger.statusOf(ahead.id)).toBe("read");
    const failing = message(2, { status: "sent" });
    const failed = { message_id: failing.id, status: "failed" as const, error_code: "131026" };
    ledger.acceptStatus(failed);
    expect(ledger.accept(failing).laterStatus).toEqual(failed);
    expect(ledger.statusOf(failing.id)).toBe("failed");
  });

  test("an early status applies to a message first seen in a history page", () => {
    const ledger = new ConversationLedger(CONVERSATION);
    const m = message(1, { status: "sent" });
    ledger.acceptStatus({ message_id: m.id, status: "delivered" });
    expect(ledger.observeHistory([m])).toEqual([m]);
    expect(ledger.statusOf(m.id)).toBe("delivered");
  });

  test("it keeps early statuses within their own bound, oldest forgotten first", () => {
    const ledger = new ConversationLedger(CONVERSATION, { maxEarlyStatuses: 2 });
    ledger.observeLastSeq(0);
    const [m1, m2, m3] = [1, 2, 3].map((seq) => message(seq, { status: "sent" }));
    for (const m of [m1!, m2!, m3!]) ledger.acceptStatus({ message_id: m.id, status: "read" });
    expect(ledger.accept(m1!).laterStatus).toBeUndefined();
    expect(ledger.statusOf(m1!.id)).toBe("sent");
    expect(ledger.accept(m3!).laterStatus?.status).toBe("read");
  });

  test("failed is terminal, and read is never followed by failed", () => {
    expect(isStatusAdvance("sent", "failed")).toBe(true);
    expect(isStatusAdvance("failed", "read")).toBe(false);
    expect(isStatusAdvance("read", "failed")).toBe(false);
    expect(isStatusAdvance(undefined, "delivered")).toBe(true);
  });

  test("it forgets the oldest ids beyond its memory bound", () => {
    const ledger = new ConversationLedger(CONVERSATION, { maxRemembered: 2 });
    ledger.observeLastSeq(0);
    for (const seq of [1, 2, 3]) ledger.accept(message(seq));
    expect(ledger.statusOf(message(1).id)).toBeUndefined();
    expect(ledger.statusOf(message(3).id)).toBe("sent");
  });
});
