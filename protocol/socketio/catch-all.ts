/**
 * Catch-all listeners (`onAny`, `onAnyOutgoing`): an ordered list that costs nothing while empty,
 * and reports when it becomes empty or non-empty (outgoing watchers turn the native fan-out off).
 */

import { createLogger } from "../logger.ts";
import { runHook } from "../user-hooks.ts";

const log = createLogger("socketio");

export type CatchAllListener = (event: string, ...args: unknown[]) => void;

export class CatchAllListeners {
  private list: CatchAllListener[] | undefined;

  constructor(private readonly onActiveChange?: (active: boolean) => void) {}

  get active(): boolean {
    return this.list !== undefined;
  }

  get all(): CatchAllListener[] {
    return this.list ? [...this.list] : [];
  }

  add(listener: CatchAllListener): void {
    this.set([...(this.list ?? []), listener]);
  }

  prepend(listener: CatchAllListener): void {
    this.set([listener, ...(this.list ?? [])]);
  }

  /** Remove one listener, or all of them. */
  remove(listener?: CatchAllListener): void {
    this.set(listener ? (this.list ?? []).filter((l) => l !== listener) : []);
  }

  /** Call each listener with `(event, ...args)`; a listener added meanwhile waits for the next call. */
  call(thisArg: unknown, event: string, args: readonly unknown[]): void {
    if (!this.list) return;
    for (const listener of this.list) {
      // Application code: a throw or rejection is logged and the next listener still runs.
      runHook(log, "catch-all listener failed", { event }, () => listener.call(thisArg, event, ...args));
    }
  }

  private set(list: CatchAllListener[]): void {
    const wasActive = this.active;
    // A new array on every change, so `call` can iterate the old one safely.
    this.list = list.length > 0 ? list : undefined;
    if (wasActive !== this.active) this.onActiveChange?.(this.active);
  }
}
