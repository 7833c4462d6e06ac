/**
 * Who is typing in each conversation, from `user_typing` events. An entry expires by itself when no
 * stop arrives (a closed tab never sends one), so an indicator cannot stick forever.
 */
import type { UserTypingEvent, Uuid } from "../shared/events.ts";

export interface TypingTrackerOptions {
  /** Forget a typist after this long without a new `typing: true`, in milliseconds. Default 5000. */
  expireMs?: number;
  /** Called whenever the set of typists of a conversation changes. */
  onChange: (conversationId: Uuid, userIds: readonly Uuid[]) => void;
}

export class TypingTracker {
  readonly #expireMs: number;
  readonly #onChange: TypingTrackerOptions["onChange"];
  /** conversation → user → expiry timer */
  readonly #typists = new Map<Uuid, Map<Uuid, ReturnType<typeof setTimeout>>>();

  constructor(options: TypingTrackerOptions) {
    this.#expireMs = options.expireMs ?? 5000;
    this.#onChange = options.onChange;
  }

  /** Feeds one `user_typing` event. */
  update(event: UserTypingEvent): void {
    if (event.typing) this.#add(event.conversation_id, event.user_id);
    else this.#remove(event.conversation_id, event.user_id);
  }

  typists(conversationId: Uuid): Uuid[] {
    return [...(this.#typists.get(conversationId)?.keys() ?? [])];
  }

  /** Forgets one user at once (their message arrived: they are done typing). */
  clearUser(conversationId: Uuid, userId: Uuid): void {
    this.#remove(conversationId, userId);
  }

  dispose(): void {
    for (const users of this.#typists.values()) for (const timer of users.values()) clearTimeout(timer);
    this.#typists.clear();
  }

  #add(conversationId: Uuid, userId: Uuid): void {
    let users = this.#typists.get(conversationId);
    if (!users) {
      users = new Map();
      this.#typists.set(conversationId, users);
    }
    const existing = users.get(userId);
    if (existing !== undefined) clearTimeout(existing);
    users.set(
      userId,
      setTimeout(() => this.#remove(conversationId, userId), this.#expireMs),
    );
    if (existing === undefined) this.#onChange(conversationId, this.typists(conversationId));
  }

  #remove(conversationId: Uuid, userId: Uuid): void {
    const users = this.#typists.get(conversationId);
    const timer = users?.get(userId);
    if (!users || timer === undefined) return;
    clearTimeout(timer);
    users.delete(userId);
    if (users.size === 0) this.#typists.delete(conversationId);
    this.#onChange(conversationId, this.typists(conversationId));
  }
}

/** The indicator's text: "" for nobody, "X is typing…" for one, "N people are typing…" for more. */
export function typingLabel(names: readonly string[]): string {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  return `${names.length} people are typing…`;
}
