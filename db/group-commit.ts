/**
 * Group commit with natural batching: items submitted while a batch's statement is in flight wait
 * for it and go together, as one batch, as soon as it returns. With nothing in flight an item goes
 * at once, so an idle caller waits for no timer and a busy one sends fewer, larger statements.
 * Each caller gets its own item's outcome.
 */

export interface GroupCommitOptions<I> {
  /** Items per batch at most; the rest wait for the next one. */
  maxBatch: number;
  /** Items with the same key never share a batch (the later one waits for the next). Default: none. */
  key?: (item: I) => string;
}

/** Stores a batch; one outcome per item, in order. A throw fails every item of the batch with it. */
export type CommitBatch<I, O> = (items: readonly I[]) => Promise<PromiseSettledResult<O>[]>;

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (reason: unknown) => void;
}

export class GroupCommit<I, O> {
  #queue: Waiting<I, O>[] = [];
  #inFlight = false;

  constructor(
    private readonly commit: CommitBatch<I, O>,
    private readonly options: GroupCommitOptions<I>,
  ) {}

  /** Resolves with the item's outcome once its batch is stored. */
  submit(item: I): Promise<O> {
    const outcome = new Promise<O>((resolve, reject) => this.#queue.push({ item, resolve, reject }));
    if (!this.#inFlight) void this.#drain();
    return outcome;
  }

  async #drain(): Promise<void> {
    this.#inFlight = true;
    while (this.#queue.length > 0) {
      const batch = this.#take();
      let outcomes: PromiseSettledResult<O>[];
      try {
        outcomes = await this.commit(batch.map((w) => w.item));
      } catch (reason) {
        outcomes = batch.map(() => ({ status: "rejected", reason }));
      }
      for (const [i, w] of batch.entries()) {
        const outcome = outcomes[i];
        if (outcome?.status === "fulfilled") w.resolve(outcome.value);
        else w.reject(outcome ? outcome.reason : new Error("the batch returned no outcome for this item"));
      }
    }
    this.#inFlight = false;
  }

  /** The next batch: the oldest items, up to maxBatch, no two with one key. */
  #take(): Waiting<I, O>[] {
    const { maxBatch, key } = this.options;
    if (!key) return this.#queue.splice(0, maxBatch);
    const batch: Waiting<I, O>[] = [];
    const rest: Waiting<I, O>[] = [];
    const keys = new Set<string>();
    for (const w of this.#queue) {
      const k = key(w.item);
      if (batch.length < maxBatch && !keys.has(k)) {
        keys.add(k);
        batch.push(w);
      } else rest.push(w);
    }
    this.#queue = rest;
    return batch;
  }
}
