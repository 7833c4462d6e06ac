/** The status machine and the coalescing of reports that arrive together (no database needed). */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { StatusReport } from "../../src/channels/channel.ts";
import { coalesce } from "../../src/services/inbound.ts";
import { canAdvance, furthest, predecessors } from "../../src/services/message-status.ts";
import { MESSAGE_STATUSES, type MessageStatus } from "../../src/shared/events.ts";

describe("message status machine", () => {
  test("moves forward only, may skip steps, and failed is terminal", () => {
    expect(canAdvance("pending", "sent")).toBe(true);
    expect(canAdvance("pending", "read")).toBe(true);
    expect(canAdvance("read", "delivered")).toBe(false);
    expect(canAdvance("delivered", "delivered")).toBe(false);
    expect(canAdvance("sent", "failed")).toBe(true);
    expect(canAdvance("delivered", "failed")).toBe(false);
    expect(canAdvance("failed", "read")).toBe(false);
    expect(predecessors("delivered").sort()).toEqual(["pending", "sent"]);
  });

  test("applying any sequence of reports never moves a message backwards", () => {
    const RANK = { pending: 0, sent: 1, delivered: 2, read: 3, failed: 4 } as const;
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...MESSAGE_STATUSES)), (reports) => {
        let current: MessageStatus = "pending";
        for (const next of reports) {
          if (!canAdvance(current, next)) continue;
          if (next !== "failed") expect(RANK[next]).toBeGreaterThan(RANK[current]);
          current = next;
        }
      }),
    );
  });

  test("of reports arriving together the furthest wins; delivery proves it did not fail", () => {
    expect(furthest("delivered", "read")).toBe("read");
    expect(furthest("read", "sent")).toBe("read");
    expect(furthest("sent", "failed")).toBe("failed");
    expect(furthest("failed", "read")).toBe("read");
  });

  test("coalesce keeps one report per message with the latest timestamp", () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    const reports: StatusReport[] = [
      { whatsappMessageId: "a", status: "read", at: at(3) },
      { whatsappMessageId: "b", status: "delivered", at: at(1) },
      { whatsappMessageId: "a", status: "delivered", at: at(5) },
      { whatsappMessageId: "a", status: "sent", at: at(1) },
    ];
    const out = coalesce(reports);
    expect(out).toHaveLength(2);
    expect(out.find((r) => r.whatsappMessageId === "a")).toMatchObject({ status: "read", at: at(5) });
    expect(out.find((r) => r.whatsappMessageId === "b")).toMatchObject({ status: "delivered" });
  });
});
