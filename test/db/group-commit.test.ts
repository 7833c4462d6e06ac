/**
 * Natural batching (db/group-commit.ts) without a database: the commit is a function the test
 * holds open, so which items share a batch is decided by what is in flight, not by timing.
 */
import { describe, expect, test } from "bun:test";
import { GroupCommit, type GroupCommitOptions } from "../../db/group-commit.ts";

/** A commit that records its batches and returns only when the test releases it. */
function heldCommit<I>(options: GroupCommitOptions<I>) {
  const batches: I[][] = [];
  const releases: (() => void)[] = [];
  const batcher = new GroupCommit<I, string>(async (items) => {
    batches.push([...items]);
    await new Promise<void>((resolve) => releases.push(resolve));
    return items.map((item) => ({ status: "fulfilled", value: `stored ${String(item)}` }));
  }, options);
  /** Lets the oldest held batch return, then yields so the next one can start. */
  const release = async () => {
    releases.shift()?.();
    await Bun.sleep(0);
  };
  return { batcher, batches, release };
}

describe("group commit", () => {
  test("with nothing in flight an item is committed at once, alone", () => {
    const { batcher, batches } = heldCommit<number>({ maxBatch: 10 });
    void batcher.submit(1);
    expect(batches).toEqual([[1]]);
  });

  test("items arriving while a batch is in flight go together when it returns, each caller with its own outcome", async () => {
    const { batcher, batches, release } = heldCommit<number>({ maxBatch: 10 });
    const outcomes = [1, 2, 3, 4].map((n) => batcher.submit(n));
    expect(batches).toEqual([[1]]);
    await release();
    expect(batches).toEqual([[1], [2, 3, 4]]);
    await release();
    expect(await Promise.all(outcomes)).toEqual(["stored 1", "stored 2", "stored 3", "stored 4"]);
  });

  test("a batch holds at most maxBatch items; the rest go in the next", async () => {
    const { batcher, batches, release } = heldCommit<number>({ maxBatch: 2 });
    const outcomes = [1, 2, 3, 4, 5].map((n) => batcher.submit(n));
    for (let i = 0; i < 3; i++) await release();
    expect(batches).toEqual([[1], [2, 3], [4, 5]]);
    await release();
    await Promise.all(outcomes);
  });

  test("items with one key never share a batch: the later waits for the next, the others keep their order", async () => {
    const { batcher, batches, release } = heldCommit<string>({ maxBatch: 10, key: (s) => s[0]! });
    const outcomes = ["x0", "a1", "b1", "a2", "c1"].map((s) => batcher.submit(s));
    await release();
    await release();
    expect(batches).toEqual([["x0"], ["a1", "b1", "c1"], ["a2"]]);
    await release();
    await Promise.all(outcomes);
  });

  test("a commit that throws fails every item of its batch with its error; the next batch still runs", async () => {
    let calls = 0;
    const batcher = new GroupCommit<number, number>(
      async (items) => {
        if (calls++ === 0) throw new Error("refused");
        return items.map((value) => ({ status: "fulfilled", value }));
      },
      { maxBatch: 10 },
    );
    const failed = [batcher.submit(1)];
    expect(await Promise.allSettled(failed)).toEqual([{ status: "rejected", reason: new Error("refused") }]);
    expect(await batcher.submit(2)).toBe(2);
  });

  test("per-item outcomes: a rejected item fails only its own caller", async () => {
    const batcher = new GroupCommit<number, number>(
      async (items) =>
        items.map((n) =>
          n === 2 ? { status: "rejected", reason: new Error("bad row") } : { status: "fulfilled", value: n },
        ),
      { maxBatch: 10 },
    );
    const settled = await Promise.allSettled([1, 2, 3].map((n) => batcher.submit(n)));
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  });
});
