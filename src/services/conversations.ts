/**
 * Conversation reads: one conversation, and the inbox list. Who may see what: src/services/access.ts.
 */
import { and, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Database, Tx } from "../../db/client.ts";
import { type ContactRow, type ConversationRow, contacts, conversations } from "../../db/schema.ts";
import type { Conversation } from "../shared/api.ts";
import type { ConversationStatus, Uuid } from "../shared/events.ts";
import { isStorableDate } from "../shared/ranges.ts";
import { UUID_RE } from "../shared/uuid.ts";
import { type ListView, listFilter, type Principal } from "./access.ts";
import { toConversation } from "./mappers.ts";
import { prepared } from "./prepared.ts";

type Queryable = Database | Tx;

export type { Principal } from "./access.ts";

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
  view?: ListView;
  cursor?: ListCursor;
  status?: ConversationStatus;
}

export async function listConversations(
  db: Queryable,
  principal: Principal,
  query: ListQuery,
): Promise<{ data: Conversation[]; nextCursor: string | null }> {
  const filters = [listFilter(principal, query.view)];
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

/** The inbox tabs' counts of conversations still to handle (not resolved). `all` only for the roles that list it. */
export async function countConversations(
  db: Queryable,
  principal: Principal,
): Promise<{ mine: number; queue: number; all?: number }> {
  const [row] = await db
    .select({
      mine: sql<number>`count(*) FILTER (WHERE ${conversations.assignedAgentId} = ${principal.user_id} AND ${conversations.status} = 'open')`,
      queue: sql<number>`count(*) FILTER (WHERE ${conversations.status} = 'queued')`,
      all: sql<number>`count(*) FILTER (WHERE ${conversations.status} <> 'resolved')`,
    })
    .from(conversations)
    .where(eq(conversations.organizationId, principal.organization_id));
  const counts = { mine: Number(row?.mine ?? 0), queue: Number(row?.queue ?? 0) };
  return principal.role === "agent" ? counts : { ...counts, all: Number(row?.all ?? 0) };
}
