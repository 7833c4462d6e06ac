/**
 * A minimal typed listener registry: the client module's own events (browser and Node have
 * different built-in emitters, so it carries this 40-line one instead of either).
 */

/** An interface of event name → listener signature. */
// biome-ignore lint/suspicious/noExplicitAny: listener parameter lists vary per event.
export type ListenerMap<M> = { [K in keyof M]: (...args: any[]) => void };

export class Listeners<M extends ListenerMap<M>> {
  readonly #byEvent = new Map<keyof M, Set<M[keyof M]>>();

  /** Adds a listener; returns a function that removes it again. */
  on<E extends keyof M>(event: E, listener: M[E]): () => void {
    let set = this.#byEvent.get(event);
    if (!set) {
      set = new Set();
      this.#byEvent.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Removes one listener, or every listener of the event when none is given. */
  off<E extends keyof M>(event: E, listener?: M[E]): void {
    if (listener) this.#byEvent.get(event)?.delete(listener);
    else this.#byEvent.delete(event);
  }

  /** Calls every listener; one that throws does not stop the others (its error goes to the console). */
  emit<E extends keyof M>(event: E, ...args: Parameters<M[E]>): void {
    const set = this.#byEvent.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (err) {
        console.error(`switchboard client: a "${String(event)}" listener threw`, err);
      }
    }
  }

  count(event: keyof M): number {
    return this.#byEvent.get(event)?.size ?? 0;
  }

  clear(): void {
    this.#byEvent.clear();
  }
}
