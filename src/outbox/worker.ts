/**
 * The outbox worker, one per process: claims due jobs into leases (store.ts), runs each through
 * the handler of its kind, and keeps at most `concurrency` in flight. Every node of a cluster runs
 * one against the shared table; SKIP LOCKED and the fenced leases keep a job with one node at a
 * time. At start it gives back the leases its previous life held (same NODE_ID), so work cut off
 * by a crash resumes at once; other nodes' leases come back when they expire.
 */
import type { Database } from "../../db/client.ts";
import { createLogger } from "../../protocol/logger.ts";
import type { OutboxSettings } from "../config.ts";
import { retryDelayMs } from "./backoff.ts";
import type { AttemptOutcome, OutboxMetrics } from "./metrics.ts";
import { type ClaimedJob, claimJobs, type JobKind, releaseLeases, rescheduleJob } from "./store.ts";

const log = createLogger("outbox");

export interface JobResult {
  outcome: AttemptOutcome;
  /** The error code of a failed or retried attempt. */
  reason?: string;
}

/** Does one attempt of a job and settles it (complete, reschedule or fail) through store.ts. */
export interface JobHandler {
  run(job: ClaimedJob): Promise<JobResult>;
}

export interface OutboxWorkerOptions {
  /** Lease owner name: NODE_ID, stable across restarts of one node. */
  nodeId: string;
  settings: OutboxSettings;
  /** True on an embedded (single-process) database: every lease left over is a dead process's. */
  reclaimAllOnStart: boolean;
}

const INTERNAL_ERROR = "outbox_internal_error";

export class OutboxWorker {
  readonly #inFlight = new Map<string, Promise<void>>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #state: "idle" | "running" | "stopping" | "stopped" = "idle";
  #ticking = false;
  #again = false;
  /**
   * True when due work may have been left unclaimed for lack of a free slot (a claim filled every
   * slot, or a wake came while none was free): a finishing job then claims again. Otherwise the
   * next claim waits for a wake or the poll, instead of one empty claim after every job.
   */
  #mayHaveMore = false;

  constructor(
    private readonly db: Database,
    private readonly handlers: Partial<Record<JobKind, JobHandler>>,
    private readonly metrics: OutboxMetrics,
    private readonly options: OutboxWorkerOptions,
  ) {}

  get nodeId(): string {
    return this.options.nodeId;
  }

  /** Reclaims this node's stale leases, then polls. */
  async start(): Promise<void> {
    if (this.#state !== "idle") return;
    this.#state = "running";
    try {
      const owner = this.options.reclaimAllOnStart ? null : this.options.nodeId;
      const reclaimed = await releaseLeases(this.db, owner);
      if (reclaimed > 0) log.info("resuming jobs left by a previous run", { jobs: reclaimed });
    } catch (err) {
      log.warn("could not reclaim leases at start (they expire by themselves)", { error: err });
    }
    this.wake();
  }

  /** Looks for due jobs now (after a local enqueue), instead of at the next poll. */
  wake(): void {
    if (this.#state !== "running") return;
    if (this.#ticking) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    void this.#tick();
  }

  async #tick(): Promise<void> {
    this.#ticking = true;
    let claimedAll = false;
    try {
      do {
        this.#again = false;
        const free = this.options.settings.concurrency - this.#inFlight.size;
        if (free <= 0) this.#mayHaveMore = true;
        if (free <= 0 || this.#state !== "running") break;
        const jobs = await claimJobs(this.db, this.options.nodeId, free, this.options.settings.leaseMs);
        // A stop that began while claiming: the jobs go back at once.
        if (this.#state !== "running") {
          await releaseLeases(
            this.db,
            this.options.nodeId,
            jobs.map((j) => j.id),
          );
          break;
        }
        for (const job of jobs) this.#run(job);
        claimedAll = jobs.length === free;
        if (claimedAll) this.#mayHaveMore = true;
      } while (this.#again || claimedAll);
    } catch (err) {
      log.warn("claiming outbox jobs failed; trying again at the next poll", { error: err });
    } finally {
      this.#ticking = false;
      this.#schedule();
    }
  }

  #schedule(): void {
    if (this.#state !== "running") return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#tick();
    }, this.options.settings.pollMs);
  }

  #run(job: ClaimedJob): void {
    const running = this.#attempt(job).finally(() => {
      this.#inFlight.delete(job.id);
      // A slot is free: claim again if due work may have been left for lack of one.
      if (this.#mayHaveMore) {
        this.#mayHaveMore = false;
        this.wake();
      }
    });
    this.#inFlight.set(job.id, running);
  }

  async #attempt(job: ClaimedJob): Promise<void> {
    let result: JobResult;
    try {
      const handler = this.handlers[job.kind];
      if (!handler) throw new Error(`no handler for outbox jobs of kind ${job.kind}`);
      result = await handler.run(job);
    } catch (err) {
      // A bug or a database outage mid-attempt: back off and try again, like any transient failure.
      log.warn("outbox attempt failed unexpectedly; retrying later", { job_id: job.id, error: err });
      result = { outcome: "retry", reason: INTERNAL_ERROR };
      const { retryBaseMs: baseMs, retryMaxMs: maxMs } = this.options.settings;
      const delay = retryDelayMs(job.attempts, { baseMs, maxMs });
      await rescheduleJob(this.db, job, delay, {
        code: INTERNAL_ERROR,
        message: (err as Error)?.message ?? String(err),
      }).catch(() => {
        // The lease expires by itself and another attempt follows.
      });
    }
    this.metrics.attempts.inc({ kind: job.kind, outcome: result.outcome });
    if (result.outcome === "retry" || result.outcome === "failed")
      this.metrics.failures.inc({
        kind: job.kind,
        reason: result.reason ?? "unknown",
        final: String(result.outcome === "failed"),
      });
  }

  /** How many jobs this node is working on right now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Stops claiming; waits up to `budgetMs` for attempts in flight to settle, then gives the leases
   * of those still running back to the queue (another node, or this one restarted, takes them).
   */
  async stop(budgetMs: number): Promise<void> {
    if (this.#state === "stopped" || this.#state === "stopping") return;
    this.#state = "stopping";
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const settled = Promise.allSettled([...this.#inFlight.values()]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([settled, new Promise((r) => (timer = setTimeout(r, Math.max(0, budgetMs))))]);
    clearTimeout(timer);
    const unfinished = [...this.#inFlight.keys()];
    if (unfinished.length > 0) {
      log.warn("shutdown: giving unfinished outbox jobs back to the queue", { jobs: unfinished.length });
      await releaseLeases(this.db, this.options.nodeId, unfinished).catch((err) => {
        log.warn("could not give leases back; they expire by themselves", { error: err });
      });
    }
    this.#state = "stopped";
  }
}
