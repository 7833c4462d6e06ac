/**
 * Group commit by natural batching: per lane, one statement in flight at a time. An item submitted
 * to an idle lane goes at once (no added delay when the server is quiet); items submitted while
 * the lane's statement runs wait and go together, as one batch, when it returns. Under load the
 * batch grows with the statement's own latency, so commits, round trips and row-lock waits are
 * paid once per batch instead of once per item; at rest nothing changes.
 *
 * Lanes keep statements that would contend apart from those that would not (the accept path's lane
 * is the conversation: its row lock serializes every message of it anyway). Order is kept within a
 * lane: batches run in submission order, and an item a batch cannot take (`fits` says no) keeps
 * its place for the next batch.
 */

export interface GroupCommitOptions<In> {
  /** Items per batch at most. */
  maxBatch: number;
  /** Whether `item` may join `batch` (e.g. no two items that would update the same row). */
  fits?: (batch: readonly In[], item: In) => boolean;
}

interface Waiting<In, Out> {
  item: In;
  resolve: (out: Out) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<In, Out> {
  readonly #lanes = new Map<string, Waiting<In, Out>[]>();

  /**
   * @param run stores a batch and returns one settled result per item, in the batch's order (an
   *   item can fail alone); a throw rejects every item of the batch with that error.
   */
  constructor(
    private readonly run: (batch: In[], lane: string) => Promise<PromiseSettledResult<Out>[]>,
    private readonly options: GroupCommitOptions<In>,
  ) {}

  /** Stores `item` with the next batch of `lane`; resolves with its result once that batch returns. */
  submit(lane: string, item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      const waiting = this.#lanes.get(lane);
      if (waiting) {
        waiting.push({ item, resolve, reject });
        return;
      }
      // The lane was idle: this item goes now, alone; later ones queue behind it.
      this.#lanes.set(lane, []);
      void this.#runBatch(lane, [{ item, resolve, reject }]);
    });
  }

  /** Lanes with a statement in flight (tests, metrics). */
  get busyLanes(): number {
    return this.#lanes.size;
  }

  async #runBatch(lane: string, batch: Waiting<In, Out>[]): Promise<void> {
    try {
      const results = await this.run(
        batch.map((w) => w.item),
        lane,
      );
      if (results.length !== batch.length)
        throw new Error(`group commit: ${results.length} results for a batch of ${batch.length}`);
      for (let i = 0; i < batch.length; i++) {
        const result = results[i]!;
        if (result.status === "fulfilled") batch[i]!.resolve(result.value);
        else batch[i]!.reject(result.reason);
      }
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
    const next = this.#take(lane);
    if (next.length === 0) this.#lanes.delete(lane);
    else void this.#runBatch(lane, next);
  }

  /** The next batch of `lane`, in order; what does not fit stays queued, in order. */
  #take(lane: string): Waiting<In, Out>[] {
    const waiting = this.#lanes.get(lane) ?? [];
    const { maxBatch, fits } = this.options;
    const batch: Waiting<In, Out>[] = [];
    const items: In[] = [];
    const left: Waiting<In, Out>[] = [];
    for (const w of waiting) {
      // The first waiting item always goes: a batch is never empty while items wait.
      if (batch.length === 0 || (batch.length < maxBatch && (fits === undefined || fits(items, w.item)))) {
        batch.push(w);
        items.push(w.item);
      } else left.push(w);
    }
    this.#lanes.set(lane, left);
    return batch;
  }
}
