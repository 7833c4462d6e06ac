/** Row → wire shape (snake_case JSON of src/shared). */
import type { ContactRow, ConversationRow, MessageRow } from "../../db/schema.ts";
import type { Conversation } from "../shared/api.ts";
import type { Message } from "../shared/events.ts";
import { serviceWindowExpiresAt } from "./service-window.ts";

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    conversation_id: row.conversationId,
    organization_id: row.organizationId,
    seq: row.seq,
    direction: row.direction,
    sender_type: row.senderType,
    sender_id: row.senderId,
    message_type: row.messageType,
    content: row.content,
    status: row.status,
    whatsapp_message_id: row.whatsappMessageId,
    error_code: row.errorCode,
    error_message: row.errorMessage,
    created_at: row.createdAt.toISOString(),
    sent_at: iso(row.sentAt),
    delivered_at: iso(row.deliveredAt),
    read_at: iso(row.readAt),
    failed_at: iso(row.failedAt),
  };
}

export function toConversation(row: ConversationRow, contact: ContactRow): Conversation {
  return {
    id: row.id,
    organization_id: row.organizationId,
    contact: { id: contact.id, name: contact.name, whatsapp_id: contact.whatsappId },
    assigned_agent_id: row.assignedAgentId,
    status: row.status,
    last_message_at: iso(row.lastMessageAt),
    last_seq: row.lastSeq,
    created_at: row.createdAt.toISOString(),
    service_window_expires_at: iso(serviceWindowExpiresAt(row.lastInboundAt)),
  };
}
