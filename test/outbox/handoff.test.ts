/**
 * The hand-off of accepted messages to the local outbox worker (src/outbox/handoff.ts): only a
 * job's first attempt may skip reading its message, and only once.
 */
import { describe, expect, test } from "bun:test";
import type { MessageRow } from "../../db/schema.ts";
import { SendHandoff } from "../../src/outbox/handoff.ts";

const row = (id: string) => ({ id, status: "pending", whatsappMessageId: null }) as unknown as MessageRow;

describe("send hand-off", () => {
  test("a first attempt takes the accepted row once; a second take reads the database", () => {
    const handoff = new SendHandoff();
    handoff.remember({ message: row("m1"), to: "4911" });
    expect(handoff.take("m1", 1)).toEqual({ message: row("m1"), to: "4911" });
    expect(handoff.take("m1", 1)).toBeUndefined();
  });

  test("a later attempt (a retry, or a lease taken over) never uses a handed-over row", () => {
    const handoff = new SendHandoff();
    handoff.remember({ message: row("m2"), to: "4911" });
    expect(handoff.take("m2", 2)).toBeUndefined();
    expect(handoff.size).toBe(0);
  });

  test("a retry forgets what the first send left (its job starts again at attempt 1)", () => {
    const handoff = new SendHandoff();
    handoff.remember({ message: row("m3"), to: "4911" });
    handoff.forget("m3");
    expect(handoff.take("m3", 1)).toBeUndefined();
  });

  test("entries are bounded: the oldest go first", () => {
    const handoff = new SendHandoff();
    for (let i = 0; i < 10_001; i++) handoff.remember({ message: row(`m${i}`), to: "4911" });
    expect(handoff.size).toBe(10_000);
    expect(handoff.take("m0", 1)).toBeUndefined();
    expect(handoff.take("m10000", 1)?.message.id).toBe("m10000");
  });
});
