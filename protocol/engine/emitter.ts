import { createLogger } from "../logger.ts";

const log = createLogger("engine");

/**
 * A minimal typed event emitter. Sessions are many (tens of thousands) and mostly idle, so the
 * listener table is allocated only when the first listener is added and holds a single function
 * until there is a second one.
 */

// biome-ignore lint/suspicious/noExplicitAny: listener signatures are checked by the EventMap.
type Listener = (...args: any[]) => void;
/** An interface of event name → listener signature. */
export type EventMap<Events> = { [E in keyof Events]: Listener };

interface OnceWrapper extends Listener {
  listener: Listener;
}

export class Emitter<Events extends EventMap<Events>> {
  private _events: Record<string, Listener | Listener[]> | undefined = undefined;

  on<E extends keyof Events & string>(event: E, listener: Events[E]): this {
    this._events ??= {};
    const events = this._events;
    const existing = events[event];
    if (existing === undefined) events[event] = listener;
    else if (typeof existing === "function") events[event] = [existing, listener];
    else existing.push(listener);
    return this;
  }

  once<E extends keyof Events & string>(event: E, listener: Events[E]): this {
    const wrapper = ((...args: unknown[]) => {
      this.off(event, wrapper as unknown as Events[E]);
      listener(...args);
    }) as OnceWrapper;
    wrapper.listener = listener;
    return this.on(event, wrapper as unknown as Events[E]);
  }

  off<E extends keyof Events & string>(event: E, listener?: Events[E]): this {
    const events = this._events;
    if (!events) return this;
    const existing = events[event];
    if (existing === undefined) return this;
    if (listener === undefined) {
      delete events[event];
      return this;
    }
    const matches = (l: Listener) => l === listener || (l as OnceWrapper).listener === listener;
    if (typeof existing === "function") {
      if (matches(existing)) delete events[event];
      return this;
    }
    const index = existing.findIndex(matches);
    if (index !== -1) existing.splice(index, 1);
    if (existing.length === 0) delete events[event];
    return this;
  }

  /** Alias of `off` (the engine.io name). */
  removeListener<E extends keyof Events & string>(event: E, listener: Events[E]): this {
    return this.off(event, listener);
  }

  removeAllListeners(event?: keyof Events & string): this {
    if (event === undefined) this._events = undefined;
    else if (this._events) delete this._events[event];
    return this;
  }

  listenerCount(event: keyof Events & string): number {
    const existing = this._events?.[event];
    if (existing === undefined) return 0;
    return typeof existing === "function" ? 1 : existing.length;
  }

  /** True when `event` has a listener: one property read, for events whose arguments cost to build. */
  protected hasListener(event: keyof Events & string): boolean {
    const events = this._events;
    return events !== undefined && events[event] !== undefined;
  }

  /**
   * Calls the listeners of `event`; returns whether there were any. A throwing listener does not
   * stop the others: its error is reported through `onListenerError`.
   */
  protected emit<E extends keyof Events & string>(event: E, ...args: Parameters<Events[E]>): boolean {
    const existing = this._events?.[event];
    if (existing === undefined) return false;
    if (typeof existing === "function") {
      this.callListener(existing, args);
      return true;
    }
    for (const listener of existing.slice()) this.callListener(listener, args);
    return true;
  }

  private callListener(listener: Listener, args: unknown[]): void {
    try {
      listener(...args);
    } catch (err) {
      this.onListenerError(err);
    }
  }

  /** Where listener errors go. Rethrowing would leave the engine half way through a state change. */
  protected onListenerError(err: unknown): void {
    log.error("event listener threw", { err });
  }
}
