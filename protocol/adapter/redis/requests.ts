/**
 * Cluster requests waiting for answers from other nodes. Every request has a deadline: when it
 * passes, the caller gets what arrived so far together with how many answers were expected, never
 * a promise that hangs because a node died or Redis dropped a message.
 */

/** Thrown (or handed to an ack) when a cluster request's deadline passes before every node answered. */
export class ClusterTimeoutError<T = unknown> extends Error {
  constructor(
    readonly operation: string,
    /** Answers that did arrive (including this node's own). */
    readonly partial: T,
    readonly received: number,
    readonly expected: number,
  ) {
    super(
      `timeout reached while waiting for ${operation} response: only ${received} responses received out of ${expected}`,
    );
    this.name = "ClusterTimeoutError";
  }
}

interface Pending {
  operation: string;
  /** Answers expected in total (this node counts as one when it answers itself). */
  expected: number;
  received: number;
  onAnswer: (answer: unknown) => void;
  finish: (timedOut: boolean) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class PendingRequests {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly onTimeout: (operation: string) => void = () => {}) {}

  has(requestId: string): boolean {
    return this.pending.has(requestId);
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Waits for `expected` answers (`alreadyReceived` of them already in hand). Each answer goes to
   * `onAnswer`; `finish(timedOut)` runs exactly once, when all arrived or at the deadline.
   */
  add(
    requestId: string,
    operation: string,
    expected: number,
    alreadyReceived: number,
    timeoutMs: number,
    onAnswer: (answer: unknown) => void,
    finish: (timedOut: boolean, received: number, expected: number) => void,
  ): void {
    const entry: Pending = {
      operation,
      expected,
      received: alreadyReceived,
      onAnswer,
      finish: (timedOut) => finish(timedOut, entry.received, entry.expected),
      timer: setTimeout(() => {
        this.pending.delete(requestId);
        this.onTimeout(operation);
        entry.finish(true);
      }, timeoutMs),
    };
    this.pending.set(requestId, entry);
    if (entry.received >= entry.expected) this.complete(requestId, entry);
  }

  /** Records one answer; returns false when no such request is waiting (late or foreign). */
  answer(requestId: string, answer: unknown): boolean {
    const entry = this.pending.get(requestId);
    if (!entry) return false;
    entry.received++;
    entry.onAnswer(answer);
    if (entry.received >= entry.expected) this.complete(requestId, entry);
    return true;
  }

  /** Ends every waiting request now (adapter closing): each gets its partial answers. */
  clear(): void {
    for (const [id, entry] of this.pending) this.complete(id, entry, true);
  }

  private complete(requestId: string, entry: Pending, timedOut = false): void {
    clearTimeout(entry.timer);
    this.pending.delete(requestId);
    entry.finish(timedOut);
  }
}
