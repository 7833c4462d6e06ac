/**
 * One attempt of a `fetch_media` job: download the provider's file through the channel (size
 * limit enforced while reading), check its type, store it, mark the media row ready and delete the
 * job in one transaction. Transient failures are retried with the outbox's backoff within the job's
 * budget; a refused type or size, or a permanent provider refusal, fails the media row.
 */
import { eq } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { media } from "../../db/schema.ts";
import { createLogger } from "../../protocol/logger.ts";
import { CHANNEL_ERROR_CODES, ChannelError, type OutboundChannel } from "../channels/channel.ts";
import { type RetryPolicy, retryDelayMs } from "../outbox/backoff.ts";
import { type ClaimedJob, completeJob, failJob, rescheduleJob } from "../outbox/store.ts";
import type { JobHandler, JobResult } from "../outbox/worker.ts";
import { baseMimeType, isAllowedMediaType, MEDIA_ERROR_CODES } from "./limits.ts";
import type { MediaStorage } from "./storage.ts";

const log = createLogger("media");

export interface FetchMediaHandlerOptions {
  db: Database;
  channel: OutboundChannel;
  storage: MediaStorage;
  maxBytes: number;
  retry: RetryPolicy;
}

export class FetchMediaHandler implements JobHandler {
  constructor(private readonly o: FetchMediaHandlerOptions) {}

  async run(job: ClaimedJob): Promise<JobResult> {
    const { db, channel } = this.o;
    const [row] = await db.select().from(media).where(eq(media.id, job.refId)).limit(1);
    if (row?.status !== "pending" || !row.providerMediaId) {
      await completeJob(db, job);
      return { outcome: "skipped" };
    }
    if (!channel.fetchMedia)
      return this.#fail(
        job,
        new ChannelError(MEDIA_ERROR_CODES.unsupported, `the ${channel.name} channel has no media`),
      );
    let fetched: Awaited<ReturnType<NonNullable<OutboundChannel["fetchMedia"]>>>;
    try {
      fetched = await channel.fetchMedia(row.providerMediaId, this.o.maxBytes);
    } catch (err) {
      const error =
        err instanceof ChannelError
          ? err
          : new ChannelError(CHANNEL_ERROR_CODES.network, String((err as Error)?.message ?? err), {
              retryable: true,
            });
      if (error.retryable) {
        const delay = retryDelayMs(job.attempts, this.o.retry, error.retryAfterMs);
        if (Date.now() + delay < job.deadlineMs) {
          await rescheduleJob(db, job, delay, { code: error.code, message: error.message });
          return { outcome: "retry", reason: error.code };
        }
      }
      return this.#fail(job, error);
    }
    const mimeType = baseMimeType(fetched.mimeType || row.mimeType);
    if (!isAllowedMediaType(mimeType))
      return this.#fail(
        job,
        new ChannelError(MEDIA_ERROR_CODES.typeRefused, `media type "${mimeType}" is not accepted`),
      );
    const storageKey = `${row.organizationId}/${row.id}`;
    await this.o.storage.put(storageKey, fetched.bytes);
    await db.transaction(async (tx) => {
      await tx
        .update(media)
        .set({ status: "ready", mimeType, sizeBytes: fetched.bytes.byteLength, storageKey })
        .where(eq(media.id, row.id));
      await completeJob(tx, job);
    });
    return { outcome: "succeeded" };
  }

  async #fail(job: ClaimedJob, error: ChannelError): Promise<JobResult> {
    log.warn("inbound media could not be fetched", { media_id: job.refId, code: error.code });
    await this.o.db.transaction(async (tx) => {
      await tx
        .update(media)
        .set({ status: "failed", errorCode: error.code, errorMessage: error.message })
        .where(eq(media.id, job.refId));
      await failJob(tx, job, { code: error.code, message: error.message });
    });
    return { outcome: "failed", reason: error.code };
  }
}
