/**
 * Session deadlines (the heartbeat's ping and pong waits, a polling close's wait) without a timer
 * per session. The delays are few (`pingInterval`, `pingTimeout`, the polling close wait), and
 * entries armed with the same delay fall due in the order they were armed: so there is one list per
 * delay, kept in deadline order by appending, and one timer per list, set for its head. Arming,
 * re-arming and disarming are O(1); a list wakes up once per distinct deadline, however many
 * sessions it holds.
 *
 * Why: a `setTimeout` per session was one `Timeout` object (176 B of JS heap) plus Bun's native
 * timer per idle connection, for 10k connections about 2 MiB held for timers alone. The lists are
 * linked through the entries themselves (the sessions), so an armed deadline costs a few fields.
 */
import { createLogger } from "../logger.ts";

const log = createLogger("engine");

/**
 * Deadlines this close to due are run when a list wakes up: a timer fires at whole milliseconds and
 * never early, so a head due within the next millisecond would otherwise cost one more wake-up.
 */
const DUE_SLACK_MS = 1;

/**
 * What a list links. The fields belong to the list (an entry only reads `timerList` to tell whether
 * it is armed); they live on the entry itself so that arming allocates nothing.
 */
export interface TimerEntry {
  /** The list the entry is armed in, or null. */
  timerList: TimerList | null;
  timerPrev: TimerEntry | null;
  timerNext: TimerEntry | null;
  /** `performance.now()` at which it falls due. */
  timerDue: number;
  /** The deadline passed (the entry is already disarmed). */
  onTimer(): void;
}

/** The entries armed with one delay, oldest (soonest due) first. */
export class TimerList {
  private head: TimerEntry | null = null;
  private tail: TimerEntry | null = null;
  private handle: ReturnType<typeof setTimeout> | null = null;
  /** When the list's timer is set to fire (`performance.now()` time); meaningless without `handle`. */
  private wakeAt = 0;
  private size = 0;

  constructor(readonly delay: number) {}

  /** Arms `entry` to fall due `delay` ms from now, moving it here from wherever it was armed. */
  arm(entry: TimerEntry): void {
    disarm(entry);
    const due = performance.now() + this.delay;
    entry.timerList = this;
    entry.timerDue = due;
    entry.timerPrev = this.tail;
    entry.timerNext = null;
    if (this.tail === null) this.head = entry;
    else this.tail.timerNext = entry;
    this.tail = entry;
    this.size++;
    if (this.handle === null) this.schedule(due);
  }

  /** @internal Use `disarm(entry)`. */
  unlink(entry: TimerEntry): void {
    const { timerPrev: prev, timerNext: next } = entry;
    if (prev === null) this.head = next;
    else prev.timerNext = next;
    if (next === null) this.tail = prev;
    else next.timerPrev = prev;
    entry.timerList = null;
    entry.timerPrev = null;
    entry.timerNext = null;
    this.size--;
    // An empty list keeps no timer (nor the process) alive.
    if (this.size === 0 && this.handle !== null) {
      clearTimeout(this.handle);
      this.handle = null;
    }
  }

  /** Entries armed now (for tests and diagnostics). */
  get armed(): number {
    return this.size;
  }

  private schedule(due: number): void {
    this.wakeAt = due;
    this.handle = setTimeout(wake, Math.max(0, Math.ceil(due - performance.now())), this);
  }

  /** @internal The list's timer fired: run what fell due, then sleep until the new head's deadline. */
  runDue(): void {
    this.handle = null;
    const now = performance.now();
    try {
      // Entries armed while this runs (a callback re-arming with this delay) wait for the next wake-up.
      const dueBy = now + DUE_SLACK_MS;
      for (
        let entry = this.head;
        entry !== null && entry.timerDue <= dueBy && entry.timerDue < now + this.delay;
        entry = this.head
      ) {
        this.unlink(entry);
        entry.onTimer();
      }
    } catch (err) {
      // A throwing entry must not strand the ones after it.
      log.error("session timer threw", { err });
    } finally {
      const head = this.head;
      if (head !== null && (this.handle === null || this.wakeAt > head.timerDue)) {
        if (this.handle !== null) clearTimeout(this.handle);
        this.schedule(head.timerDue);
      }
    }
  }
}

function wake(list: TimerList): void {
  list.runDue();
}

/** Stops `entry`'s deadline, if it has one. */
export function disarm(entry: TimerEntry): void {
  entry.timerList?.unlink(entry);
}

/** One list per delay for the whole process: sessions of every engine with that delay share it. */
const lists = new Map<number, TimerList>();

/** The list of entries armed with `delay` ms. */
export function timerList(delay: number): TimerList {
  let list = lists.get(delay);
  if (list === undefined) {
    list = new TimerList(delay);
    lists.set(delay, list);
  }
  return list;
}
