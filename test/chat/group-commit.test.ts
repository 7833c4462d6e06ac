/** Natural batching (src/services/group-commit.ts), driven by a statement the test completes by hand. */
import { describe, expect, test } from "bun:test";
import { GroupCommit } from "../../src/services/group-commit.ts";

/** A `run` whose calls the test sees and settles one by one. */
function manualRun() {
  const calls: { batch: number[]; lane: string; finish: (fail?: Error) => void }[] = [];
  const run = (batch: number[], lane: string) =>
    new Promise<PromiseSettledResult<number>[]>((resolve, reject) => {
      calls.push({
        batch,
        lane,
        finish: (fail) =>
          fail
            ? reject(fail)
            : resolve(
                batch.map((n) =>
                  n < 0
                    ? { status: "rejected", reason: new Error(`bad ${n}`) }
                    : { status: "fulfilled", value: n * 10 },
                ),
              ),
      });
    });
  return { calls, run };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("group commit", () => {
  test("an item on an idle lane goes at once, alone; items arriving meanwhile go together, in order", async () => {
    const { calls, run } = manualRun();
    const group = new GroupCommit(run, { maxBatch: 100 });
    const first = group.submit("c", 1);
    expect(calls.map((c) => c.batch)).toEqual([[1]]);
    const rest = [2, 3, 4].map((n) => group.submit("c", n));
    expect(calls).toHaveLength(1);
    calls[0]!.finish();
    expect(await first).toBe(10);
    await tick();
    expect(calls.map((c) => c.batch)).toEqual([[1], [2, 3, 4]]);
    calls[1]!.finish();
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
    expect(group.busyLanes).toBe(0);
  });

  test("a batch takes at most maxBatch items; the rest keep their order", async () => {
    const { calls, run } = manualRun();
    const group = new GroupCommit(run, { maxBatch: 2 });
    const all = [1, 2, 3, 4, 5].map((n) => group.submit("c", n));
    for (let i = 0; i < 3; i++) {
      calls[i]!.finish();
      await tick();
    }
    expect(calls.map((c) => c.batch)).toEqual([[1], [2, 3], [4, 5]]);
    expect(await Promise.all(all)).toEqual([10, 20, 30, 40, 50]);
  });

  test("an item that does not fit waits for a later batch, keeping its place", async () => {
    const { calls, run } = manualRun();
    // No two even numbers in one batch.
    const group = new GroupCommit(run, {
      maxBatch: 10,
      fits: (batch, n) => n % 2 === 1 || !batch.some((m) => m % 2 === 0),
    });
    const all = [1, 2, 4, 3, 6, 5].map((n) => group.submit("c", n));
    for (let i = 0; i < 4; i++) {
      calls[i]!.finish();
      await tick();
    }
    expect(calls.map((c) => c.batch)).toEqual([[1], [2, 3, 5], [4], [6]]);
    expect(await Promise.all(all)).toEqual([10, 20, 40, 30, 60, 50]);
  });

  test("lanes run side by side; a busy lane does not hold another back", () => {
    const { calls, run } = manualRun();
    const group = new GroupCommit(run, { maxBatch: 10 });
    void group.submit("a", 1);
    void group.submit("a", 2);
    void group.submit("b", 3);
    expect(calls.map((c) => [c.lane, c.batch])).toEqual([
      ["a", [1]],
      ["b", [3]],
    ]);
    expect(group.busyLanes).toBe(2);
  });

  test("an item's own failure rejects it alone; a failed batch rejects its items, and the lane goes on", async () => {
    const { calls, run } = manualRun();
    const group = new GroupCommit(run, { maxBatch: 10 });
    const first = group.submit("c", 1);
    const mixed = [2, -1, 3].map((n) => group.submit("c", n));
    calls[0]!.finish(new Error("connection lost"));
    await expect(first).rejects.toThrow("connection lost");
    await tick();
    calls[1]!.finish();
    const settled = await Promise.allSettled(mixed);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const later = group.submit("c", 7);
    calls[2]!.finish();
    expect(await later).toBe(70);
  });

  test("a run that answers for the wrong number of items rejects the whole batch", async () => {
    const group = new GroupCommit<number, number>(async () => [], { maxBatch: 10 });
    await expect(group.submit("c", 1)).rejects.toThrow("0 results for a batch of 1");
  });
});
