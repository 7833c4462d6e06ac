/**
 * Typing indicators per (socket, conversation): `typing_start` broadcasts `typing: true` once and
 * (re)starts a timer; `typing_stop`, the timer, leaving the conversation or disconnecting
 * broadcast `typing: false`. The sender never receives its own indicator.
 */
import { conversationRoom, type UserTypingEvent } from "../shared/events.ts";
import type { ChatSocket } from "./types.ts";

type Emit = (socket: ChatSocket, room: string, payload: UserTypingEvent) => void;

export class TypingTracker {
  /** socket id → conversation id → expiry timer. */
  readonly #active = new Map<string, Map<string, ReturnType<typeof setTimeout>>>();

  constructor(
    private readonly timeoutMs: number,
    private readonly emit: Emit,
  ) {}

  start(socket: ChatSocket, conversationId: string): void {
    let mine = this.#active.get(socket.id);
    if (!mine) {
      mine = new Map();
      this.#active.set(socket.id, mine);
    }
    const existing = mine.get(conversationId);
    if (existing) clearTimeout(existing);
    else this.#send(socket, conversationId, true);
    mine.set(
      conversationId,
      setTimeout(() => this.stop(socket, conversationId), this.timeoutMs),
    );
  }

  stop(socket: ChatSocket, conversationId: string): void {
    const mine = this.#active.get(socket.id);
    const timer = mine?.get(conversationId);
    if (!mine || !timer) return;
    clearTimeout(timer);
    mine.delete(conversationId);
    if (mine.size === 0) this.#active.delete(socket.id);
    this.#send(socket, conversationId, false);
  }

  /** Stops every indicator of `socket` (it is disconnecting). */
  stopAll(socket: ChatSocket): void {
    for (const conversationId of [...(this.#active.get(socket.id)?.keys() ?? [])])
      this.stop(socket, conversationId);
  }

  clearAll(): void {
    for (const mine of this.#active.values()) for (const t of mine.values()) clearTimeout(t);
    this.#active.clear();
  }

  #send(socket: ChatSocket, conversationId: string, typing: boolean): void {
    this.emit(socket, conversationRoom(conversationId), {
      conversation_id: conversationId,
      user_id: socket.data.user_id,
      user_name: socket.data.user_name,
      typing,
    });
  }
}
