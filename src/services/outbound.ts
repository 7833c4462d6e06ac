/**
 * Accepting an agent's message: the message row ("pending") and its send job are committed in ONE
 * statement (src/services/accept-message.ts), then the message is announced and the outbox worker (src/outbox) delivers it. What
 * this returns has been accepted: a crash after it cannot lose the send. An idempotency key makes
 * a repeated request return the first one's message instead of sending again.
 */
import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { type ContactRow, type ConversationRow, type MessageRow, messages } from "../../db/schema.ts";
import type { SendHandoff } from "../outbox/handoff.ts";
import { enqueueJob } from "../outbox/store.ts";
import type { Message, MessageContent, MessageType, Uuid } from "../shared/events.ts";
import { acceptMessage, earlierMessageId } from "./accept-message.ts";
import { toConversation, toMessage } from "./mappers.ts";
import type { ChatNotifier } from "./notifier.ts";

export interface OutgoingMessage {
  senderId: Uuid;
  messageType: MessageType;
  content: MessageContent;
  /** Validated by the caller (idempotency.ts idempotencyKeyProblem). */
  idempotencyKey?: string | undefined;
}

export interface SendOutcome {
  message: Message;
  /** False when an idempotency key named an earlier message: nothing new was stored or sent. */
  created: boolean;
}

/** Why a send or retry was refused; the HTTP layer maps each to its status. */
export class SendRefusal extends Error {
  constructor(
    readonly reason: "key_reused" | "not_found" | "not_failed",
    message: string,
  ) {
    super(message);
    this.name = "SendRefusal";
  }
}

/** Wakes the local outbox worker after a commit (the job is due now). */
export interface OutboxWaker {
  wake(): void;
}

export class MessageSender {
  constructor(
    private readonly db: Database,
    private readonly notifier: ChatNotifier,
    private readonly outbox: OutboxWaker,
    /** How long a send's retryable failures are retried (OUTBOX_RETRY_BUDGET). */
    private readonly retryBudgetMs: number,
    /** Hands accepted messages to this process's outbox worker (src/outbox/handoff.ts). */
    readonly handoff?: SendHandoff,
  ) {}

  async send(
    conversation: ConversationRow,
    contact: ContactRow,
    outgoing: OutgoingMessage,
  ): Promise<SendOutcome> {
    const id = randomUUID();
    const at = new Date();
    const key = outgoing.idempotencyKey;
    // One statement: key claim, seq bump, message row and send job (src/services/accept-message.ts).
    const after = await acceptMessage(this.db, {
      id,
      conversationId: conversation.id,
      organizationId: conversation.organizationId,
      senderId: outgoing.senderId,
      messageType: outgoing.messageType,
      content: outgoing.content,
      idempotencyKey: key,
      at,
      budgetMs: this.retryBudgetMs,
    });
    if (after === null) {
      const earlier = key === undefined ? null : await earlierMessageId(this.db, outgoing.senderId, key);
      if (earlier === null) throw new Error(`conversation ${conversation.id} does not exist`);
      return { message: await this.#earlier(earlier, conversation), created: false };
    }
    const row: MessageRow = {
      id,
      conversationId: conversation.id,
      organizationId: conversation.organizationId,
      seq: after.lastSeq,
      direction: "outbound",
      senderType: "agent",
      senderId: outgoing.senderId,
      messageType: outgoing.messageType,
      content: outgoing.content,
      status: "pending",
      whatsappMessageId: null,
      errorCode: null,
      errorMessage: null,
      createdAt: at,
      sentAt: null,
      deliveredAt: null,
      readAt: null,
      failedAt: null,
    };
    const message = toMessage(row);
    this.notifier.publish(
      [
        { kind: "message:new", message },
        { kind: "conversation:updated", conversation: toConversation(after, contact) },
      ],
      performance.now(),
    );
    this.handoff?.remember({ message: row, to: contact.whatsappId });
    this.outbox.wake();
    return { message, created: true };
  }

  async #earlier(messageId: Uuid, conversation: ConversationRow): Promise<Message> {
    const [row] = await this.db.select().from(messages).where(eq(messages.id, messageId)).limit(1);
    if (!row || row.conversationId !== conversation.id)
      throw new SendRefusal("key_reused", "this idempotency key was used for another message");
    return toMessage(row);
  }

  /**
   * Sends a failed outbound message again: the same row goes back to "pending" (its error cleared)
   * and its job starts over with a fresh retry budget, in one transaction.
   */
  async retry(conversation: ConversationRow, messageId: Uuid): Promise<Message> {
    const row = await this.db.transaction(async (tx) => {
      const [updated] = await tx
        .update(messages)
        // A provider id from an earlier, later-failed send is dropped: its late reports no longer apply.
        .set({
          status: "pending",
          errorCode: null,
          errorMessage: null,
          failedAt: null,
          whatsappMessageId: null,
          sentAt: null,
          deliveredAt: null,
          readAt: null,
        })
        .where(
          and(
            eq(messages.id, messageId),
            eq(messages.conversationId, conversation.id),
            eq(messages.direction, "outbound"),
            eq(messages.status, "failed"),
          ),
        )
        .returning();
      if (updated) {
        this.handoff?.forget(messageId);
        await enqueueJob(tx, { kind: "send_message", refId: messageId, budgetMs: this.retryBudgetMs });
      }
      return updated ?? null;
    });
    if (!row) {
      const [existing] = await this.db
        .select({ status: messages.status })
        .from(messages)
        .where(and(eq(messages.id, messageId), eq(messages.conversationId, conversation.id)))
        .limit(1);
      if (!existing) throw new SendRefusal("not_found", "message not found");
      throw new SendRefusal(
        "not_failed",
        `only a failed message can be retried (this one is ${existing.status})`,
      );
    }
    const message = toMessage(row);
    this.notifier.publish(
      [
        {
          kind: "message:status",
          status: {
            message_id: message.id,
            conversation_id: message.conversation_id,
            status: "pending",
            timestamp: new Date().toISOString(),
            retry: true,
          },
        },
      ],
      performance.now(),
    );
    this.outbox.wake();
    return message;
  }
}
