/**
 * What one client has seen of one conversation: which messages (by id, to drop duplicates), up to
 * which `seq` it has everything (to detect gaps and catch up), and the latest status of each message
 * (so a status never goes backwards on screen). Pure bookkeeping, no I/O.
 */
import type { Message, MessageStatus, MessageStatusEvent, Uuid } from "../shared/events.ts";

/** Order of the forward-only status machine; `failed` is terminal and ends any earlier state. */
const STATUS_RANK: Record<MessageStatus, number> = { pending: 0, sent: 1, delivered: 2, read: 3, failed: 4 };

/** True when `next` is a real step forward from `current`. */
export function isStatusAdvance(current: MessageStatus | undefined, next: MessageStatus): boolean {
  if (current === undefined) return true;
  if (current === "failed" || current === "read") return false;
  return STATUS_RANK[next] > STATUS_RANK[current];
}

/**
 * A status change as the ledger keeps it: the id and status it orders by, plus whatever else the
 * event carried (timestamp, error) so it can be reported again later.
 */
export type StatusOffer = Pick<MessageStatusEvent, "message_id" | "status"> &
  Partial<Omit<MessageStatusEvent, "message_id" | "status">>;

/** Result of offering one message to the ledger. */
export interface AcceptResult {
  /** False when the message was already seen (a duplicate to drop). */
  fresh: boolean;
  /**
   * Present when a status heard before the message is ahead of the message's own (it was read
   * before that status was stored): report it right after the message, as it will not come again.
   */
  laterStatus?: StatusOffer;
  /**
   * When the ledger now knows of missing messages: fetch those with a seq above this one. Null when
   * nothing is missing (or the baseline is not known yet).
   */
  gapAfter: number | null;
}

export interface ConversationLedgerOptions {
  /** How many message ids to remember for de-duplication (oldest forgotten first). Default 5000. */
  maxRemembered?: number;
  /**
   * How many statuses of messages not seen yet to keep until their message arrives (oldest
   * forgotten first). Default 500.
   */
  maxEarlyStatuses?: number;
}

export class ConversationLedger {
  readonly conversationId: Uuid;
  readonly #maxRemembered: number;
  readonly #maxEarly: number;
  /** Message id → latest status; insertion order is age, for eviction. */
  readonly #statuses = new Map<Uuid, MessageStatus>();
  /**
   * Message id → latest status heard before the message itself. Apart from `#statuses`, because an
   * id there means "seen" and would drop the message as a duplicate when it arrives.
   */
  readonly #early = new Map<Uuid, StatusOffer>();
  /** Seqs seen above `#contiguous` (they wait for the missing ones below them). */
  readonly #ahead = new Set<number>();
  /** Every message with seq ≤ this has been seen; null until a baseline is known. */
  #contiguous: number | null = null;

  constructor(conversationId: Uuid, options: ConversationLedgerOptions = {}) {
    this.conversationId = conversationId;
    this.#maxRemembered = options.maxRemembered ?? 5000;
    this.#maxEarly = options.maxEarlyStatuses ?? 500;
  }

  /** The seq up to which nothing is missing (null before the baseline). */
  get contiguousSeq(): number | null {
    return this.#contiguous;
  }

  /** The highest seq seen at all. */
  get highestSeq(): number | null {
    const ahead = this.#ahead.size ? Math.max(...this.#ahead) : null;
    if (ahead === null) return this.#contiguous;
    return Math.max(ahead, this.#contiguous ?? 0);
  }

  /** True while some seq between the baseline and the highest seen is missing. */
  get hasGap(): boolean {
    return this.#contiguous !== null && this.#ahead.size > 0;
  }

  statusOf(messageId: Uuid): MessageStatus | undefined {
    return this.#statuses.get(messageId);
  }

  /**
   * Sets what the server says is the last stored seq (`joined_conversation.last_seq`). The first
   * time, it becomes the baseline (older history is the UI's business, not a gap). Later, a higher
   * value means messages were missed: the answer is the seq to catch up from.
   */
  observeLastSeq(lastSeq: number): number | null {
    if (this.#contiguous === null) {
      this.#contiguous = lastSeq;
      this.#drainAhead();
      return this.hasGap ? this.#contiguous : null;
    }
    return lastSeq > this.#contiguous ? this.#contiguous : null;
  }

  /**
   * Records a page of history (from the REST API). History is complete up to its newest message,
   * so it can raise the baseline. Answers the messages not seen before, oldest first.
   */
  observeHistory(messages: readonly Message[]): Message[] {
    const fresh = [...messages].sort((a, b) => a.seq - b.seq).filter((m) => this.#remember(m) !== null);
    const newest = messages.reduce((max, m) => Math.max(max, m.seq), 0);
    if (this.#contiguous === null || newest > this.#contiguous) {
      this.#contiguous = newest;
      this.#drainAhead();
    }
    return fresh;
  }

  /** Offers one message (live or fetched). */
  accept(message: Message): AcceptResult {
    const remembered = this.#remember(message);
    if (remembered === null) return { fresh: false, gapAfter: null };
    if (this.#contiguous === null || message.seq > this.#contiguous) {
      this.#ahead.add(message.seq);
      this.#drainAhead();
    }
    const gapAfter = this.hasGap ? this.#contiguous : null;
    return remembered.laterStatus
      ? { fresh: true, gapAfter, laterStatus: remembered.laterStatus }
      : { fresh: true, gapAfter };
  }

  /**
   * Offers a status change; true when it moves the message forward (show it), false to drop it. A
   * status of a message not seen yet is kept apart (not as "seen", which would drop the message as
   * a duplicate when it arrives) and applied when the message arrives: a catch-up may have read the
   * message before this status was stored, and the server will not send the status again.
   */
  acceptStatus(event: StatusOffer): boolean {
    const current = this.#statuses.get(event.message_id);
    if (current === undefined) return this.#keepEarly(event);
    const resent = event.retry === true && current === "failed" && event.status === "pending";
    if (!resent && !isStatusAdvance(current, event.status)) return false;
    this.#statuses.set(event.message_id, event.status);
    return true;
  }

  /**
   * Remembers a message with the later of its own status and one heard before it. Null when it was
   * known already (its status moves only via `acceptStatus`).
   */
  #remember(message: Message): { laterStatus?: StatusOffer } | null {
    if (this.#statuses.has(message.id)) return null;
    const early = this.#early.get(message.id);
    this.#early.delete(message.id);
    if (early && isStatusAdvance(message.status, early.status)) {
      this.#setStatus(message.id, early.status);
      return { laterStatus: early };
    }
    this.#setStatus(message.id, message.status);
    return {};
  }

  /** Keeps the latest status of a message not seen yet; true when it moved forward. */
  #keepEarly(event: StatusOffer): boolean {
    const known = this.#early.get(event.message_id);
    if (known && !isStatusAdvance(known.status, event.status)) return false;
    this.#early.delete(event.message_id); // re-insert: insertion order is age, for eviction
    this.#early.set(event.message_id, event);
    if (this.#early.size > this.#maxEarly) {
      const oldest = this.#early.keys().next().value;
      if (oldest !== undefined) this.#early.delete(oldest);
    }
    return true;
  }

  #setStatus(id: Uuid, status: MessageStatus): void {
    this.#statuses.set(id, status);
    if (this.#statuses.size > this.#maxRemembered) {
      const oldest = this.#statuses.keys().next().value;
      if (oldest !== undefined) this.#statuses.delete(oldest);
    }
  }

  /** Moves the baseline over every seq that is now contiguous, and forgets seqs at or below it. */
  #drainAhead(): void {
    if (this.#contiguous === null) return;
    while (this.#ahead.delete(this.#contiguous + 1)) this.#contiguous++;
    for (const seq of this.#ahead) if (seq <= this.#contiguous) this.#ahead.delete(seq);
  }
}
