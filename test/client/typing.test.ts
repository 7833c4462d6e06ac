import { describe, expect, test } from "bun:test";
import { TypingNotifier, TypingTracker, typingLabel } from "../../src/client/index.ts";

const CONVERSATION = "7d1f6a52-8c0e-4a57-9a51-3f0a0c6f0c01";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("TypingNotifier", () => {
  test("a burst of keystrokes sends one start and, after the idle time, one stop", async () => {
    const sent: string[] = [];
    const notifier = new TypingNotifier({
      start: () => sent.push("start"),
      stop: () => sent.push("stop"),
      idleMs: 60,
    });
    for (let i = 0; i < 5; i++) {
      notifier.input(CONVERSATION);
      await sleep(10);
    }
    expect(sent).toEqual(["start"]);
    await sleep(120);
    expect(sent).toEqual(["start", "stop"]);
    expect(notifier.isTyping(CONVERSATION)).toBe(false);
  });

  test("done() stops at once and only once", () => {
    const sent: string[] = [];
    const notifier = new TypingNotifier({ start: () => sent.push("start"), stop: () => sent.push("stop") });
    notifier.input(CONVERSATION);
    notifier.done(CONVERSATION);
    notifier.done(CONVERSATION);
    expect(sent).toEqual(["start", "stop"]);
  });
});

describe("TypingTracker", () => {
  test("a typist appears on start and disappears on stop", () => {
    const changes: string[][] = [];
    const tracker = new TypingTracker({ onChange: (_c, users) => changes.push([...users]) });
    tracker.update({ conversation_id: CONVERSATION, user_id: "u1", user_name: "User 1", typing: true });
    tracker.update({ conversation_id: CONVERSATION, user_id: "u1", user_name: "User 1", typing: true });
    tracker.update({ conversation_id: CONVERSATION, user_id: "u2", user_name: "User 2", typing: true });
    tracker.update({ conversation_id: CONVERSATION, user_id: "u1", user_name: "User 1", typing: false });
    expect(changes).toEqual([["u1"], ["u1", "u2"], ["u2"]]);
    tracker.dispose();
  });

  test("a typist without a stop expires by itself", async () => {
    const changes: string[][] = [];
    const tracker = new TypingTracker({ expireMs: 50, onChange: (_c, users) => changes.push([...users]) });
    tracker.update({ conversation_id: CONVERSATION, user_id: "u1", user_name: "User 1", typing: true });
    await sleep(100);
    expect(changes).toEqual([["u1"], []]);
    expect(tracker.typists(CONVERSATION)).toEqual([]);
  });

  test("the label names one typist and counts several", () => {
    expect(typingLabel([])).toBe("");
    expect(typingLabel(["Ada"])).toBe("Ada is typing…");
    expect(typingLabel(["Ada", "Bob", "Cy"])).toBe("3 people are typing…");
  });
});
