/**
 * One attempt of a `send_message` job: the channel is called exactly once; the provider's message
 * id is committed (status "sent", job deleted) right after it answers, in one statement with the
 * other sends finishing then (store-sent.ts); a retryable refusal is rescheduled with backoff while
 * the job's retry budget lasts; anything else fails the message with the provider's code and
 * reason. Events go out after each commit.
 */

import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { contacts, conversations, type MessageRow, media, messages } from "../../db/schema.ts";
import { createLogger } from "../../protocol/logger.ts";
import {
  CHANNEL_ERROR_CODES,
  ChannelError,
  type OutboundChannel,
  type OutboundRequest,
} from "../channels/channel.ts";
import { MEDIA_ERROR_CODES } from "../media/limits.ts";
import type { MediaStorage } from "../media/storage.ts";
import { toMessage } from "../services/mappers.ts";
import { advanceStatus } from "../services/messages.ts";
import type { ChatNotifier } from "../services/notifier.ts";
import { prepared } from "../services/prepared.ts";
import { type RetryPolicy, retryDelayMs } from "./backoff.ts";
import type { SendHandoff } from "./handoff.ts";
import { type ClaimedJob, completeJob, failJob, rescheduleJob } from "./store.ts";
import { SentStore } from "./store-sent.ts";
import type { JobHandler, JobResult } from "./worker.ts";

const log = createLogger("outbox");

/** After the provider accepted, the commit is retried this often before the lease is left to expire. */
const COMMIT_TRIES = 6;
const COMMIT_RETRY_MS = 250;

export interface SendMessageHandlerOptions {
  db: Database;
  channel: OutboundChannel;
  notifier: ChatNotifier;
  retry: RetryPolicy;
  /** Called once a message's channel id is stored (InboundService.replay applies early reports). */
  onChannelId?: (whatsappMessageId: string) => Promise<void>;
  /** Where the files of media messages sent by id (`content.media_id`) are read from. */
  storage?: MediaStorage;
  /** Messages this process accepted: a first attempt takes its row from here instead of reading it. */
  handoff?: SendHandoff;
}

export class SendMessageHandler implements JobHandler {
  readonly #sent: SentStore;

  constructor(private readonly o: SendMessageHandlerOptions) {
    this.#sent = new SentStore(o.db);
  }

  async run(job: ClaimedJob): Promise<JobResult> {
    const { db } = this.o;
    // A first attempt on the accepting node has its row handed over; others read it (prepared once:
    // drizzle builds a query's text on each call).
    const statement = prepared(db, "send_job_message", () =>
      db
        .select({ message: messages, to: contacts.whatsappId })
        .from(messages)
        .innerJoin(conversations, eq(conversations.id, messages.conversationId))
        .innerJoin(contacts, eq(contacts.id, conversations.contactId))
        .where(eq(messages.id, sql.placeholder("id")))
        .limit(1)
        .prepare("send_job_message"),
    );
    const row =
      this.o.handoff?.take(job.refId, job.attempts) ?? (await statement.execute({ id: job.refId }))[0];
    // Deleted, or settled by an earlier attempt whose job update was lost: nothing to send.
    if (row?.message.status !== "pending" || row.message.whatsappMessageId) {
      await completeJob(db, job);
      return { outcome: "skipped" };
    }
    const { message } = row;
    let whatsappMessageId: string;
    try {
      const file = message.content.media_id ? await this.#file(message) : undefined;
      ({ whatsappMessageId } = await this.o.channel.send({
        messageId: message.id,
        to: row.to,
        messageType: message.messageType,
        content: message.content,
        ...(file ? { media: file } : {}),
      }));
    } catch (err) {
      return this.#refused(job, message, err);
    }
    return this.#accepted(job, message, whatsappMessageId);
  }

  /** The stored file of a media message sent by id; a missing one fails the message. */
  async #file(message: MessageRow): Promise<NonNullable<OutboundRequest["media"]>> {
    const [row] = await this.o.db
      .select()
      .from(media)
      .where(and(eq(media.id, message.content.media_id!), eq(media.organizationId, message.organizationId)))
      .limit(1);
    const bytes =
      row?.storageKey && row.status === "ready" ? await this.o.storage?.get(row.storageKey) : null;
    if (!row || !bytes)
      throw new ChannelError(
        MEDIA_ERROR_CODES.unsupported,
        "the media file of this message is not available",
      );
    return {
      bytes,
      mimeType: row.mimeType ?? "application/octet-stream",
      filename: message.content.filename,
    };
  }

  async #accepted(job: ClaimedJob, message: MessageRow, whatsappMessageId: string): Promise<JobResult> {
    const at = new Date();
    let updated: MessageRow | null = null;
    for (let attempt = 1; ; attempt++) {
      try {
        const advanced = await this.#sent.mark({ job, messageId: message.id, whatsappMessageId, at });
        updated = advanced
          ? { ...message, status: "sent", whatsappMessageId, sentAt: message.sentAt ?? at }
          : null;
        break;
      } catch (err) {
        // The provider has the message: losing its id now means a second send after the lease expires.
        if (attempt >= COMMIT_TRIES) {
          log.error("the provider accepted a message but its id could not be stored", {
            message_id: message.id,
            whatsapp_message_id: whatsappMessageId,
            error: err,
          });
          throw err;
        }
        await Bun.sleep(COMMIT_RETRY_MS * attempt);
      }
    }
    if (updated) {
      this.#publish(updated, at);
      // "sent" is announced first; only then may reports about this id be applied.
      this.o.channel.stored?.(whatsappMessageId);
      await this.o.onChannelId?.(whatsappMessageId).catch((err) => {
        log.warn("could not apply early status reports", { message_id: message.id, error: err });
      });
    }
    return { outcome: "succeeded" };
  }

  async #refused(job: ClaimedJob, message: MessageRow, err: unknown): Promise<JobResult> {
    const error =
      err instanceof ChannelError
        ? err
        : new ChannelError(CHANNEL_ERROR_CODES.network, String((err as Error)?.message ?? err), {
            retryable: true,
          });
    if (error.retryable) {
      const delay = retryDelayMs(job.attempts, this.o.retry, error.retryAfterMs);
      if (Date.now() + delay < job.deadlineMs) {
        log.debug("send failed; retrying", { message_id: message.id, code: error.code, delay_ms: delay });
        await rescheduleJob(this.o.db, job, delay, { code: error.code, message: error.message });
        return { outcome: "retry", reason: error.code };
      }
    }
    log.warn("outbound message failed", {
      message_id: message.id,
      code: error.code,
      attempts: job.attempts,
      retryable: error.retryable,
    });
    const at = new Date();
    const updated = await this.o.db.transaction(async (tx) => {
      const row = await advanceStatus(
        tx,
        { id: message.id },
        { status: "failed", at, errorCode: error.code, errorMessage: error.message },
      );
      await failJob(tx, job, { code: error.code, message: error.message });
      return row;
    });
    if (updated) this.#publish(updated, at);
    return { outcome: "failed", reason: error.code };
  }

  #publish(row: MessageRow, at: Date): void {
    const message = toMessage(row);
    this.o.notifier.publish(
      [
        {
          kind: "message:status",
          status: {
            message_id: message.id,
            conversation_id: message.conversation_id,
            status: message.status,
            timestamp: at.toISOString(),
            ...(message.status === "failed"
              ? {
                  ...(message.error_code ? { error_code: message.error_code } : {}),
                  ...(message.error_message ? { error_message: message.error_message } : {}),
                }
              : {}),
          },
        },
      ],
      performance.now(),
    );
  }
}
