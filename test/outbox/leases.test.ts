/**
 * Outbox leases against the real databases: a claimed job stays with its node until the lease
 * expires, concurrent claimers never take the same job (FOR UPDATE SKIP LOCKED), a stale holder
 * cannot settle a job another node took over, a restarted node takes its own leases back at once,
 * and shutdown gives unfinished work back to the queue.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { DatabaseHandle } from "../../db/client.ts";
import { outboxJobs } from "../../db/schema.ts";
import type { OutboxSettings } from "../../src/config.ts";
import { ChatMetrics } from "../../src/metrics/chat-metrics.ts";
import { OutboxMetrics } from "../../src/outbox/metrics.ts";
import {
  type ClaimedJob,
  claimJobs,
  completeJob,
  enqueueJob,
  releaseLeases,
} from "../../src/outbox/store.ts";
import { type JobHandler, type JobResult, OutboxWorker } from "../../src/outbox/worker.ts";
import { type BackendInstance, backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { waitFor } from "../reliability/support/wait.ts";

const SETTINGS: OutboxSettings = {
  pollMs: 50,
  concurrency: 4,
  leaseMs: 60_000,
  retryBaseMs: 10,
  retryMaxMs: 50,
  retryBudgetMs: 3600_000,
};

/** Completes every job it runs and remembers which; `gate` holds attempts until opened. */
class RecordingHandler implements JobHandler {
  readonly ran: ClaimedJob[] = [];
  gate: Promise<void> = Promise.resolve();
  constructor(private readonly handle: DatabaseHandle) {}
  async run(job: ClaimedJob): Promise<JobResult> {
    this.ran.push(job);
    await this.gate;
    await completeJob(this.handle.db, job);
    return { outcome: "succeeded" };
  }
}

for (const backend of await backends()) {
  describe(`outbox leases on ${backend.name}`, () => {
    let instance: BackendInstance;
    let handle: DatabaseHandle;
    const workers: OutboxWorker[] = [];

    beforeAll(async () => {
      instance = await backend.create();
      handle = await instance.open();
    }, SETUP_TIMEOUT_MS);

    afterAll(async () => {
      for (const w of workers) await w.stop(0);
      await handle?.close();
      await instance?.dispose();
    });

    beforeEach(async () => {
      // Workers of earlier tests would claim this test's jobs.
      for (const w of workers.splice(0)) await w.stop(0);
      await handle.db.delete(outboxJobs);
    });

    const enqueue = async (n: number) => {
      const ids = Array.from({ length: n }, () => crypto.randomUUID());
      for (const refId of ids) await enqueueJob(handle.db, { kind: "send_message", refId, budgetMs: 60_000 });
      return ids;
    };
    const worker = (nodeId: string, handler: JobHandler, reclaimAllOnStart = false) => {
      const w = new OutboxWorker(
        handle.db,
        { send_message: handler },
        new OutboxMetrics(handle.db, new ChatMetrics().registry),
        { nodeId, settings: SETTINGS, reclaimAllOnStart },
      );
      workers.push(w);
      return w;
    };

    test("a leased job is invisible to other claimers until its lease expires; then the stale holder cannot settle it", async () => {
      await enqueue(1);
      const [mine] = await claimJobs(handle.db, "node-a", 10, 400);
      expect(mine?.attempts).toBe(1);
      expect(await claimJobs(handle.db, "node-b", 10, 400)).toHaveLength(0);
      let taken: ClaimedJob[] = [];
      await waitFor(async () => {
        taken = await claimJobs(handle.db, "node-b", 10, 60_000);
        return taken.length === 1;
      }, "the lease to expire");
      expect(taken[0]).toMatchObject({ id: mine!.id, attempts: 2, owner: "node-b" });
      expect(await completeJob(handle.db, mine!)).toBe(false);
      expect(await completeJob(handle.db, taken[0]!)).toBe(true);
    });

    test("concurrent claimers take disjoint jobs (FOR UPDATE SKIP LOCKED)", async () => {
      const ids = await enqueue(40);
      const claimed: ClaimedJob[] = [];
      await Promise.all(
        ["n1", "n2", "n3", "n4"].map(async (node) => {
          for (;;) {
            const got = await claimJobs(handle.db, node, 3, 60_000);
            if (got.length === 0) return;
            claimed.push(...got);
          }
        }),
      );
      expect(claimed).toHaveLength(ids.length);
      expect(new Set(claimed.map((j) => j.refId))).toEqual(new Set(ids));
    });

    test("a restarted node takes its own leases back at once; another node's wait for their expiry", async () => {
      await enqueue(2);
      const [own] = await claimJobs(handle.db, "restarting", 1, 3600_000);
      const [foreign] = await claimJobs(handle.db, "elsewhere", 1, 3600_000);
      const handler = new RecordingHandler(handle);
      await worker("restarting", handler).start();
      await waitFor(() => handler.ran.length === 1, "the node's own job to resume");
      expect(handler.ran[0]).toMatchObject({ id: own!.id, attempts: 2 });
      await Bun.sleep(SETTINGS.pollMs * 4);
      expect(handler.ran.map((j) => j.id)).not.toContain(foreign!.id);
      const [left] = await handle.db.select().from(outboxJobs).where(eq(outboxJobs.id, foreign!.id));
      expect(left).toMatchObject({ state: "leased", leaseOwner: "elsewhere" });
    });

    test("on an embedded database every leftover lease is taken back at start (no other process can hold one)", async () => {
      await enqueue(1);
      await claimJobs(handle.db, "dead-process", 1, 3600_000);
      const handler = new RecordingHandler(handle);
      await worker("fresh-process", handler, true).start();
      await waitFor(() => handler.ran.length === 1, "the leftover job to resume");
    });

    test("stop gives the leases of attempts still running back to the queue, due now", async () => {
      const [refId] = await enqueue(1);
      const handler = new RecordingHandler(handle);
      let open: () => void = () => {};
      handler.gate = new Promise((resolve) => {
        open = resolve;
      });
      const w = worker("stopping", handler);
      await w.start();
      await waitFor(() => handler.ran.length === 1, "the attempt to start");
      await w.stop(50);
      const [job] = await handle.db.select().from(outboxJobs).where(eq(outboxJobs.refId, refId!));
      expect(job).toMatchObject({ state: "queued", leaseOwner: null });
      expect(job!.nextAttemptAt.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
      open();
    });

    test("releasing by owner leaves other owners' leases alone", async () => {
      await enqueue(2);
      await claimJobs(handle.db, "x", 1, 3600_000);
      await claimJobs(handle.db, "y", 1, 3600_000);
      expect(await releaseLeases(handle.db, "x")).toBe(1);
      const rows = await handle.db.select().from(outboxJobs);
      expect(rows.map((r) => r.leaseOwner).sort()).toEqual([null, "y"].sort());
    });
  });
}
