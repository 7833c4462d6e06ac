/**
 * Turns keystrokes into `typing_start` / `typing_stop`: start once when input begins, stop after a
 * quiet period (or at once when the message is sent), so the server sees two events per burst of
 * typing, not one per key.
 */
import type { Uuid } from "../shared/events.ts";

export interface TypingNotifierOptions {
  /** Sends `typing_start` for a conversation. */
  start: (conversationId: Uuid) => void;
  /** Sends `typing_stop` for a conversation. */
  stop: (conversationId: Uuid) => void;
  /** Quiet time after the last keystroke before `typing_stop`, in milliseconds. Default 2000. */
  idleMs?: number;
}

export class TypingNotifier {
  readonly #start: (conversationId: Uuid) => void;
  readonly #stop: (conversationId: Uuid) => void;
  readonly #idleMs: number;
  /** Conversations with a burst of typing under way → their idle timer. */
  readonly #active = new Map<Uuid, ReturnType<typeof setTimeout>>();

  constructor(options: TypingNotifierOptions) {
    this.#start = options.start;
    this.#stop = options.stop;
    this.#idleMs = options.idleMs ?? 2000;
  }

  /** Call on every input event. */
  input(conversationId: Uuid): void {
    const timer = this.#active.get(conversationId);
    if (timer === undefined) this.#start(conversationId);
    else clearTimeout(timer);
    this.#active.set(
      conversationId,
      setTimeout(() => this.done(conversationId), this.#idleMs),
    );
  }

  /** Ends the burst now (message sent, input cleared, conversation closed). */
  done(conversationId: Uuid): void {
    const timer = this.#active.get(conversationId);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#active.delete(conversationId);
    this.#stop(conversationId);
  }

  isTyping(conversationId: Uuid): boolean {
    return this.#active.has(conversationId);
  }

  /** Ends every burst (sends the stops). */
  dispose(): void {
    for (const id of [...this.#active.keys()]) this.done(id);
  }
}
