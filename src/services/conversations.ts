/**
 * Conversation reads and the access rule for watching one.
 *
 * Access rule (join_conversation, history, sending): the conversation must belong to the user's
 * organization (otherwise it is "not found", never "forbidden", so ids of other organizations leak
 * nothing). Within the organization, org_admin and viewer may watch any conversation; an agent may
 * watch conversations assigned to them and unassigned ones (the queue), not a colleague's. Viewers
 * are read-only: they cannot send messages or type.
 */
import { and, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Database, Tx } from "../../db/client.ts";
import { type ContactRow, type ConversationRow, contacts, conversations } from "../../db/schema.ts";
import type { Conversation } from "../shared/api.ts";
import type { ConversationStatus, UserRole, Uuid } from "../shared/events.ts";
import { isStorableDate } from "../shared/ranges.ts";
import { UUID_RE } from "../shared/uuid.ts";
import { toConversation } from "./mappers.ts";
import { prepared } from "./prepared.ts";

type Queryable = Database | Tx;

/** Who is asking (from the verified token). */
export interface Principal {
  user_id: Uuid;
  organization_id: Uuid;
  role: UserRole;
}

export type AccessVerdict = "allowed" | "not_found" | "forbidden";

export function canWatch(principal: Principal, conversation: ConversationRow | null): AccessVerdict {
  if (!conversation || conversation.organizationId !== principal.organization_id) return "not_found";
  if (principal.role !== "agent") return "allowed";
  return conversation.assignedAgentId === null || conversation.assignedAgentId === principal.user_id
    ? "allowed"
    : "forbidden";
}

export function canWrite(principal: Principal, conversation: ConversationRow | null): AccessVerdict {
  const verdict = canWatch(principal, conversation);
  return verdict === "allowed" && principal.role === "viewer" ? "forbidden" : verdict;
}

/** The conversation if it is in `organizationId`, else null. */
export async function findConversation(
  db: Queryable,
  organizationId: Uuid,
  id: Uuid,
): Promise<ConversationRow | null> {
  const [row] = await db
    .select()
    .from(conversations)
    .where(and(eq(conversations.id, id), eq(conversations.organizationId, organizationId)))
    .limit(1);
  return row ?? null;
}

export async function findConversationWithContact(
  db: Queryable,
  organizationId: Uuid,
  id: Uuid,
): Promise<{ conversation: ConversationRow; contact: ContactRow } | null> {
  // Every REST read and send starts here: prepared once per database.
  const statement = prepared(db, "conversation_with_contact", () =>
    db
      .select({ conversation: conversations, contact: contacts })
      .from(conversations)
      .innerJoin(contacts, eq(contacts.id, conversations.contactId))
      .where(
        and(
          eq(conversations.id, sql.placeholder("id")),
          eq(conversations.organizationId, sql.placeholder("organizationId")),
        ),
      )
      .limit(1)
      .prepare("conversation_with_contact"),
  );
  const [row] = await statement.execute({ id, organizationId });
  return row ?? null;
}

/** Position in the inbox order (last activity desc, nulls last, then id desc), as an opaque cursor. */
interface ListCursor {
  t: string | null;
  id: Uuid;
}

export const encodeListCursor = (c: ListCursor): string =>
  Buffer.from(JSON.stringify(c)).toString("base64url");

export function decodeListCursor(cursor: string): ListCursor | null {
  try {
    const c = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as ListCursor;
    // Both values reach SQL as uuid / timestamptz: anything PostgreSQL might refuse (an id that is
    // 36 dashes, a date only JavaScript parses, a year beyond 9999) would surface as a 500 instead of this 400.
    const okT = c.t === null || (typeof c.t === "string" && isStorableDate(Date.parse(c.t)));
    const okId = typeof c.id === "string" && UUID_RE.test(c.id);
    if (!okT || !okId) return null;
    return { t: c.t === null ? null : new Date(c.t).toISOString(), id: c.id.toLowerCase() };
  } catch {
    return null;
  }
}

export interface ListQuery {
  limit: number;
  cursor?: ListCursor;
  status?: ConversationStatus;
}

export async function listConversations(
  db: Queryable,
  organizationId: Uuid,
  query: ListQuery,
): Promise<{ data: Conversation[]; nextCursor: string | null }> {
  const filters = [eq(conversations.organizationId, organizationId)];
  if (query.status) filters.push(eq(conversations.status, query.status));
  const c = query.cursor;
  if (c) {
    const at = conversations.lastMessageAt;
    const after =
      c.t === null
        ? and(isNull(at), lt(conversations.id, c.id))
        : or(
            lt(at, sql`${c.t}::timestamptz`),
            and(eq(at, sql`${c.t}::timestamptz`), lt(conversations.id, c.id)),
            isNull(at),
          );
    if (after) filters.push(after);
  }
  const rows = await db
    .select({ conversation: conversations, contact: contacts })
    .from(conversations)
    .innerJoin(contacts, eq(contacts.id, conversations.contactId))
    .where(and(...filters))
    .orderBy(sql`${conversations.lastMessageAt} DESC NULLS LAST`, desc(conversations.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  const nextCursor =
    rows.length > query.limit && last
      ? encodeListCursor({
          t: last.conversation.lastMessageAt?.toISOString() ?? null,
          id: last.conversation.id,
        })
      : null;
  return { data: page.map((r) => toConversation(r.conversation, r.contact)), nextCursor };
}
