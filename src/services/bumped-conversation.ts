/**
 * The conversation's state that a message-storing statement returns from its `bumped` CTE (the
 * UPDATE that takes the next seq under the conversation's row lock), and its conversion to a
 * ConversationRow for the inbox's `conversation:updated`. Shared by the send path
 * (accept-message.ts) and every other stored message (messages.ts).
 */
import { sql } from "drizzle-orm";
import type { ConversationRow } from "../../db/schema.ts";

/** The `RETURNING` list of the `bumped` CTE, read back as a BumpedConversation (plus `last_seq`). */
export const BUMPED_RETURNING = sql.raw(`last_seq, contact_id, assigned_agent_id, status,
              (extract(epoch FROM last_message_at) * 1000)::float8 AS last_message_at_ms,
              (extract(epoch FROM last_inbound_at) * 1000)::float8 AS last_inbound_at_ms,
              (extract(epoch FROM created_at) * 1000)::float8 AS created_at_ms`);

/** The columns of `bumped`; timestamps as epoch milliseconds (drivers disagree on raw timestamptz). */
export interface BumpedConversation {
  contact_id: string;
  assigned_agent_id: string | null;
  status: ConversationRow["status"];
  last_message_at_ms: number | null;
  last_inbound_at_ms: number | null;
  created_at_ms: number;
}

const dateOf = (ms: number | null): Date | null => (ms === null ? null : new Date(Number(ms)));

/** The conversation after the message that got `lastSeq`. */
export function conversationAfter(
  row: BumpedConversation,
  ids: { id: string; organizationId: string },
  lastSeq: number,
): ConversationRow {
  return {
    id: ids.id,
    organizationId: ids.organizationId,
    contactId: row.contact_id,
    assignedAgentId: row.assigned_agent_id,
    status: row.status,
    lastMessageAt: dateOf(row.last_message_at_ms),
    lastInboundAt: dateOf(row.last_inbound_at_ms),
    lastSeq,
    createdAt: new Date(Number(row.created_at_ms)),
  };
}
