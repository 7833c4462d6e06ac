/**
 * Sending an agent's message: persist it as "pending" and announce it, then hand it to the
 * outbound channel in the background and persist + announce each status the channel reports.
 * The HTTP caller gets the pending message at once; ticks arrive as `message:status`.
 */

import type { Database } from "../../db/client.ts";
import type { ContactRow, ConversationRow } from "../../db/schema.ts";
import { createLogger } from "../../protocol/logger.ts";
import { CHANNEL_ERROR_CODES, ChannelError, type OutboundChannel } from "../channels/channel.ts";
import type { Message, MessageContent, MessageType, Uuid } from "../shared/events.ts";
import { toConversation, toMessage } from "./mappers.ts";
import { advanceStatus, insertMessage } from "./messages.ts";
import type { ChatNotifier } from "./notifier.ts";

const log = createLogger("outbound");

export interface OutgoingMessage {
  senderId: Uuid;
  messageType: MessageType;
  content: MessageContent;
}

export class MessageSender {
  readonly #inFlight = new Set<Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly channel: OutboundChannel,
    private readonly notifier: ChatNotifier,
    /** Called once a message's channel id is stored (InboundService.replay applies early reports). */
    private readonly onChannelId: (whatsappMessageId: string) => Promise<void> = async () => {},
  ) {}

  /** Stores and announces the message; delivery continues in the background. */
  async send(
    conversation: ConversationRow,
    contact: ContactRow,
    outgoing: OutgoingMessage,
  ): Promise<Message> {
    // One atomic statement (seq bump + insert): no transaction round trips on the hot path.
    const stored = await insertMessage(this.db, {
      conversationId: conversation.id,
      organizationId: conversation.organizationId,
      direction: "outbound",
      senderType: "agent",
      senderId: outgoing.senderId,
      messageType: outgoing.messageType,
      content: outgoing.content,
      status: "pending",
    });
    const message = toMessage(stored.message);
    this.notifier.publish(
      [
        { kind: "message:new", message },
        { kind: "conversation:updated", conversation: toConversation(stored.conversation, contact) },
      ],
      performance.now(),
    );
    const job = this.#deliver(message, contact.whatsappId).finally(() => this.#inFlight.delete(job));
    this.#inFlight.add(job);
    return message;
  }

  async #deliver(message: Message, to: string): Promise<void> {
    let change: Parameters<typeof advanceStatus>[2];
    try {
      const result = await this.channel.send({
        messageId: message.id,
        to,
        messageType: message.message_type,
        content: message.content,
      });
      change = { status: "sent", at: new Date(), whatsappMessageId: result.whatsappMessageId };
    } catch (err) {
      const code = err instanceof ChannelError ? err.code : CHANNEL_ERROR_CODES.network;
      log.warn("outbound message failed", { message_id: message.id, code, error: err });
      change = { status: "failed", at: new Date(), errorCode: code, errorMessage: (err as Error).message };
    }
    try {
      const row = await advanceStatus(this.db, { id: message.id }, change);
      if (!row) return;
      const channelId = change.whatsappMessageId;
      this.notifier.publish(
        [
          {
            kind: "message:status",
            status: {
              message_id: row.id,
              conversation_id: row.conversationId,
              status: row.status,
              timestamp: change.at.toISOString(),
              ...(row.status === "failed"
                ? { error_code: row.errorCode ?? undefined, error_message: row.errorMessage ?? undefined }
                : {}),
            },
          },
        ],
        performance.now(),
      );
      if (channelId) {
        // "sent" is announced first; only then may reports about this id be applied.
        this.channel.stored?.(channelId);
        await this.onChannelId(channelId);
      }
    } catch (err) {
      log.error("could not store an outbound status", { message_id: message.id, error: err });
    }
  }

  /** Resolves when every background delivery has settled (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }
}
