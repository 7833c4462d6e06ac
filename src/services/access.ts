/**
 * THE access rule of the inbox: who may list, read, write in, type in, watch and act on a
 * conversation, and which live audiences (rooms) may hear about it. Every path asks this module:
 * REST list/read/write and lifecycle actions, socket joins and typing, live delivery, and the
 * revocation of live sockets after a change (src/realtime/live-access.ts).
 *
 * - A conversation of another organization, or one that does not exist, is `not_found` (never
 *   `forbidden`): ids of other organizations leak nothing.
 * - org_admin and viewer see every conversation of their organization; an agent sees the queue
 *   (unassigned conversations) and the ones assigned to them, not a colleague's.
 * - viewer is read-only: no message, no typing, no lifecycle action.
 * - An inactive (deactivated) user may do nothing: authentication refuses them before this rule.
 */
import { and, eq, isNull, or, type SQL } from "drizzle-orm";
import { conversations } from "../../db/schema.ts";
import type { UserRole, Uuid } from "../shared/events.ts";
import { organizationInboxRoom, organizationQueueRoom, userRoom } from "../shared/events.ts";

/** Who is asking (from the verified token and the stored user). */
export interface Principal {
  user_id: Uuid;
  organization_id: Uuid;
  role: UserRole;
}

/** The two columns the rule reads, in the row shape (db) or the wire shape (events). */
export interface ConversationScope {
  organizationId: Uuid;
  assignedAgentId: Uuid | null;
}

/** read: list, history, watch (join), live delivery. write: send, type, lifecycle actions. */
export type AccessMode = "read" | "write";

export type AccessVerdict = "allowed" | "not_found" | "forbidden";

/** Stable codes of a refusal (HTTP error `code`, socket `error.code`). */
export const ACCESS_CODES = {
  notFound: "not_found",
  forbidden: "forbidden",
} as const;

export const ACCESS_MESSAGES = {
  assignedElsewhere: "this conversation is assigned to another agent",
  readOnly: "viewers are read-only",
} as const;

export interface AccessDecision {
  verdict: AccessVerdict;
  /** Why it is forbidden (one of ACCESS_MESSAGES), for the error message. */
  reason?: string;
}

const ALLOWED: AccessDecision = { verdict: "allowed" };
const NOT_FOUND: AccessDecision = { verdict: "not_found" };

export function decideAccess(
  principal: Principal,
  conversation: ConversationScope | null,
  mode: AccessMode,
): AccessDecision {
  if (!conversation || conversation.organizationId !== principal.organization_id) return NOT_FOUND;
  if (mode === "write" && principal.role === "viewer")
    return { verdict: "forbidden", reason: ACCESS_MESSAGES.readOnly };
  if (principal.role !== "agent") return ALLOWED;
  return conversation.assignedAgentId === null || conversation.assignedAgentId === principal.user_id
    ? ALLOWED
    : { verdict: "forbidden", reason: ACCESS_MESSAGES.assignedElsewhere };
}

export const mayRead = (p: Principal, c: ConversationScope | null): boolean =>
  decideAccess(p, c, "read").verdict === "allowed";

/** True when the role may act in conversations at all (send, type, claim, resolve). */
export const mayWriteAtAll = (role: UserRole): boolean => role !== "viewer";

/** Roles a conversation may be assigned to. */
export const mayBeAssigned = (role: UserRole): boolean => role === "agent" || role === "org_admin";

/** The list views of GET /conversations?view=. */
export type ListView = "mine" | "queue" | "all";
export const LIST_VIEWS: readonly ListView[] = ["mine", "queue", "all"];

/** `all` is the whole organization: only for the roles that may read all of it. */
export const mayListView = (role: UserRole, view: ListView): boolean => view !== "all" || role !== "agent";

/**
 * The SQL filter of a list: the view, intersected with what the principal may read. Without a
 * view: everything the principal may read (an agent: the queue and their own).
 */
export function listFilter(principal: Principal, view: ListView | undefined): SQL {
  const org = eq(conversations.organizationId, principal.organization_id);
  const mine = eq(conversations.assignedAgentId, principal.user_id);
  const queue = isNull(conversations.assignedAgentId);
  if (view === "mine") return and(org, mine)!;
  if (view === "queue") return and(org, queue, eq(conversations.status, "queued"))!;
  if (principal.role !== "agent") return org;
  return and(org, or(mine, queue))!;
}

/**
 * The rooms whose members may see `conversation` in their inbox: the organization's inbox room
 * (org_admin, viewer: every conversation), and the queue room (agents) when it is unassigned or
 * the assignee's own room when it is assigned. Keep in step with decideAccess.
 */
export function inboxAudience(conversation: ConversationScope): string[] {
  const org = conversation.organizationId;
  const agents =
    conversation.assignedAgentId === null
      ? organizationQueueRoom(org)
      : userRoom(conversation.assignedAgentId);
  return [organizationInboxRoom(org), agents];
}

/** The organization room a socket of `role` joins (inbox: sees all; queue: agents). */
export const organizationRoomFor = (role: UserRole, organizationId: Uuid): string =>
  role === "agent" ? organizationQueueRoom(organizationId) : organizationInboxRoom(organizationId);
