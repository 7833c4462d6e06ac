/**
 * The messages this process has just accepted, handed to its own outbox worker so the first
 * attempt of their send job does not read back the row it was given a moment ago (one statement
 * less per message). Only a first attempt uses it: until its job settles, a "pending" message
 * without a channel id is changed by nothing else (status reports need the channel id, a retry
 * needs "failed"), so the row handed over is the row in the database. A later attempt, another
 * node's claim, or an entry older than HANDOFF_TTL_MS reads the database as before.
 */
import type { MessageRow } from "../../db/schema.ts";

/** What the send needs: the message and the contact's WhatsApp id. */
export interface AcceptedSend {
  message: MessageRow;
  to: string;
}

const HANDOFF_TTL_MS = 60_000;
/** Entries kept at most (a worker far behind reads the rest from the database). */
const HANDOFF_MAX = 10_000;

export class SendHandoff {
  readonly #entries = new Map<string, AcceptedSend & { until: number }>();

  /** Called after the message and its job committed. */
  remember(send: AcceptedSend): void {
    if (this.#entries.size >= HANDOFF_MAX) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(send.message.id, { ...send, until: performance.now() + HANDOFF_TTL_MS });
  }

  /** The accepted send of `messageId` for a job's first attempt, once; undefined otherwise. */
  take(messageId: string, attempt: number): AcceptedSend | undefined {
    const entry = this.#entries.get(messageId);
    if (!entry) return undefined;
    this.#entries.delete(messageId);
    if (attempt !== 1 || entry.until <= performance.now()) return undefined;
    return { message: entry.message, to: entry.to };
  }

  /**
   * Drops what was handed over for `messageId`: a retry starts its job again at attempt 1, and an
   * entry left from the first send (its worker claimed the job before it was remembered) must not
   * stand in for the row the retry changed.
   */
  forget(messageId: string): void {
    this.#entries.delete(messageId);
  }

  get size(): number {
    return this.#entries.size;
  }
}
