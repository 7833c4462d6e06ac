/**
 * The typing helpers on a fake clock: every timing rule is checked at the exact millisecond it is
 * documented for, so a loaded machine cannot make the test flake.
 */
import { afterEach, beforeEach, describe, expect, jest, test } from "bun:test";
import { TypingNotifier, TypingTracker, typingLabel } from "../../src/client/index.ts";

const CONVERSATION = "7d1f6a52-8c0e-4a57-9a51-3f0a0c6f0c01";

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe("TypingNotifier", () => {
  test("a burst of keystrokes sends one start and, after the idle time, one stop", () => {
    const sent: string[] = [];
    const notifier = new TypingNotifier({
      start: () => sent.push("start"),
      stop: () => sent.push("stop"),
      idleMs: 60,
    });
    for (let i = 0; i < 5; i++) {
      notifier.input(CONVERSATION);
      jest.advanceTimersByTime(50);
    }
    expect(sent).toEqual(["start"]);
    jest.advanceTimersByTime(9);
    expect(sent).toEqual(["start"]);
    expect(notifier.isTyping(CONVERSATION)).toBe(true);
    jest.advanceTimersByTime(1);
    expect(sent).toEqual(["start", "stop"]);
    expect(notifier.isTyping(CONVERSATION)).toBe(false);
  });

  test("the default idle time is two seconds", () => {
    const sent: string[] = [];
    const notifier = new TypingNotifier({ start: () => sent.push("start"), stop: () => sent.push("stop") });
    notifier.input(CONVERSATION);
    jest.advanceTimersByTime(1999);
    expect(sent).toEqual(["start"]);
    jest.advanceTimersByTime(1);
    expect(sent).toEqual(["start", "stop"]);
  });

  test("done() stops at once and only once", () => {
    const sent: string[] = [];
    const notifier = new TypingNotifier({ start: () => sent.push("start"), stop: () => sent.push("stop") });
    notifier.input(CONVERSATION);
    notifier.done(CONVERSATION);
    notifier.done(CONVERSATION);
    jest.advanceTimersByTime(5000);
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

  test("a typist without a stop expires by itself, and a new start pushes the expiry back", () => {
    const changes: string[][] = [];
    const tracker = new TypingTracker({ expireMs: 50, onChange: (_c, users) => changes.push([...users]) });
    tracker.update({ conversation_id: CONVERSATION, user_id: "u1", user_name: "User 1", typing: true });
    jest.advanceTimersByTime(40);
    tracker.update({ conversation_id: CONVERSATION, user_id: "u1", user_name: "User 1", typing: true });
    jest.advanceTimersByTime(49);
    expect(changes).toEqual([["u1"]]);
    jest.advanceTimersByTime(1);
    expect(changes).toEqual([["u1"], []]);
    expect(tracker.typists(CONVERSATION)).toEqual([]);
  });

  test("the label names one typist and counts several", () => {
    expect(typingLabel([])).toBe("");
    expect(typingLabel(["Ada"])).toBe("Ada is typing…");
    expect(typingLabel(["Ada", "Bob", "Cy"])).toBe("3 people are typing…");
  });
});
