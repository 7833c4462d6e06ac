/**
 * The shared deadline lists that replace a timer per session: entries fall due in the order they
 * were armed, re-arming moves an entry to the back, a disarmed entry never fires, an empty list
 * holds no timer, and one throwing entry does not strand the others.
 */
import { describe, expect, test } from "bun:test";
import { disarm, type TimerEntry, TimerList, timerList } from "../../../protocol/engine/timer-lists.ts";
import { nextConnection, startEngine, WsClient } from "./helpers.ts";

class Entry implements TimerEntry {
  timerList: TimerList | null = null;
  timerPrev: TimerEntry | null = null;
  timerNext: TimerEntry | null = null;
  timerDue = 0;
  constructor(
    readonly name: string,
    private readonly fired: string[],
    private readonly then?: () => void,
  ) {}
  onTimer(): void {
    this.fired.push(this.name);
    this.then?.();
  }
}

async function until(done: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(5);
  }
}

/** The list's timer handle, read through its private field: "no timer" must be checked inside. */
function handleOf(list: TimerList): unknown {
  return (list as unknown as { handle: unknown }).handle;
}

describe("timer lists", () => {
  test("entries fall due in the order they were armed, each once", async () => {
    const fired: string[] = [];
    const list = new TimerList(20);
    const entries = ["a", "b", "c", "d"].map((n) => new Entry(n, fired));
    for (const e of entries) list.arm(e);
    expect(list.armed).toBe(4);
    await until(() => fired.length === 4);
    expect(fired).toEqual(["a", "b", "c", "d"]);
    expect(list.armed).toBe(0);
    for (const e of entries) expect(e.timerList).toBeNull();
    await Bun.sleep(60);
    expect(fired).toEqual(["a", "b", "c", "d"]);
  });

  test("re-arming moves an entry behind the others; a disarmed entry never fires", async () => {
    const fired: string[] = [];
    const list = new TimerList(20);
    const [a, b, c] = ["a", "b", "c"].map((n) => new Entry(n, fired)) as [Entry, Entry, Entry];
    list.arm(a);
    list.arm(b);
    list.arm(c);
    list.arm(a);
    disarm(b);
    expect(b.timerList).toBeNull();
    expect(list.armed).toBe(2);
    await until(() => fired.length === 2);
    await Bun.sleep(60);
    expect(fired).toEqual(["c", "a"]);
  });

  test("arming in another list moves the entry there", async () => {
    const fired: string[] = [];
    const short = new TimerList(10);
    const long = new TimerList(60_000);
    const e = new Entry("e", fired);
    short.arm(e);
    long.arm(e);
    expect(short.armed).toBe(0);
    expect(long.armed).toBe(1);
    expect(e.timerList).toBe(long);
    await Bun.sleep(50);
    expect(fired).toEqual([]);
    disarm(e);
    expect(long.armed).toBe(0);
  });

  test("an empty list holds no timer", () => {
    const list = new TimerList(60_000);
    const e = new Entry("e", []);
    list.arm(e);
    expect(handleOf(list)).not.toBeNull();
    disarm(e);
    expect(handleOf(list)).toBeNull();
  });

  test("an entry re-armed with the same delay from its callback waits a whole delay again", async () => {
    const fired: string[] = [];
    const list = new TimerList(15);
    let rounds = 0;
    const e: Entry = new Entry("e", fired, () => {
      if (++rounds < 3) list.arm(e);
    });
    list.arm(e);
    await until(() => fired.length === 3);
    await Bun.sleep(60);
    expect(fired).toEqual(["e", "e", "e"]);
    expect(list.armed).toBe(0);
  });

  test("a throwing entry does not strand the entries after it", async () => {
    const fired: string[] = [];
    const list = new TimerList(10);
    list.arm(
      new Entry("boom", fired, () => {
        throw new Error("entry failed");
      }),
    );
    list.arm(new Entry("after", fired));
    await until(() => fired.length === 2);
    expect(fired).toEqual(["boom", "after"]);
  });

  test("every session's heartbeat is an entry of one shared list per delay, none once closed", async () => {
    const pingInterval = 54_321;
    const t = startEngine({ pingInterval, pingTimeout: 60_000 });
    const clients: WsClient[] = [];
    try {
      const before = timerList(pingInterval).armed;
      for (let i = 0; i < 5; i++) {
        const connected = nextConnection(t.engine);
        const ws = new WsClient(t.url({ transport: "websocket" }, "ws"));
        clients.push(ws);
        await ws.next();
        await connected;
      }
      expect(timerList(pingInterval).armed).toBe(before + 5);
    } finally {
      await t.engine.close();
      for (const ws of clients) ws.close();
    }
    expect(timerList(pingInterval).armed).toBe(0);
  });
});
