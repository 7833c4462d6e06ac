/**
 * The conversation lifecycle: queued (no assignee) → open (assigned) → resolved → reopened.
 *
 * Every action is ONE transaction: a conditional UPDATE of the conversation (guarded by the state
 * the decision was made on, so two concurrent claims have one winner and nothing is decided on a
 * stale read) and a system line in the thread (a message with sender_type "system", in the
 * conversation's seq order, recording who did what and when). Either both are stored or neither.
 * The caller publishes the returned events after the commit.
 *
 * Reopen (by a user or by an inbound message) goes back to the last assignee when they are still
 * an active agent or org_admin, and to the queue otherwise.
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import type { Database, Tx } from "../../db/client.ts";
import { type ContactRow, type ConversationRow, conversations, users } from "../../db/schema.ts";
import type { Conversation } from "../shared/api.ts";
import type {
  ConversationAction,
  ConversationActionKind,
  ConversationStatus,
  Uuid,
} from "../shared/events.ts";
import { decideAccess, mayBeAssigned, type Principal } from "./access.ts";
import { findConversationWithContact } from "./conversations.ts";
import { toConversation, toMessage } from "./mappers.ts";
import { insertMessage } from "./messages.ts";
import type { ChatEvent } from "./notifier.ts";

type Queryable = Database | Tx;

/** Stable codes of refused actions (the HTTP error `code`). */
export const LIFECYCLE_CODES = {
  notFound: "not_found",
  forbidden: "forbidden",
  alreadyClaimed: "already_claimed",
  alreadyResolved: "already_resolved",
  notResolved: "not_resolved",
  conversationResolved: "conversation_resolved",
  noChange: "no_change",
  assigneeNotFound: "assignee_not_found",
  assigneeNotAgent: "assignee_not_agent",
  assigneeInactive: "assignee_inactive",
  conflict: "conversation_changed",
} as const;
export type LifecycleCode = (typeof LIFECYCLE_CODES)[keyof typeof LIFECYCLE_CODES];

export class LifecycleError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409,
    readonly code: LifecycleCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "LifecycleError";
  }
}

const refuse = {
  notFound: () => new LifecycleError(404, LIFECYCLE_CODES.notFound, "conversation not found"),
  forbidden: (why: string) => new LifecycleError(403, LIFECYCLE_CODES.forbidden, why),
  claimed: () =>
    new LifecycleError(409, LIFECYCLE_CODES.alreadyClaimed, "this conversation is already assigned"),
  resolved: () =>
    new LifecycleError(
      409,
      LIFECYCLE_CODES.conversationResolved,
      "this conversation is resolved: reopen it first",
    ),
  conflict: () =>
    new LifecycleError(409, LIFECYCLE_CODES.conflict, "the conversation changed meanwhile; reload and retry"),
};

/** The user performing an action. */
export interface Actor extends Principal {
  name: string;
}

/** What an action stored, and the events to publish once it is committed. */
export interface ActionResult {
  conversation: Conversation;
  events: ChatEvent[];
}

interface Transition {
  status: ConversationStatus;
  assignedAgentId: Uuid | null;
}

/** The words of a system line. */
export function describeAction(a: ConversationAction): string {
  const who = a.actor_name ?? "A new message from the contact";
  switch (a.kind) {
    case "claimed":
      return `${who} claimed this conversation`;
    case "assigned":
      return `${who} assigned this to ${a.assignee_name ?? "someone"}`;
    case "unassigned":
      return `${who} moved this back to the queue`;
    case "resolved":
      return `${who} resolved this conversation`;
    case "reopened":
      return a.actor_name === null
        ? `A new message from the contact reopened this${a.assignee_name ? ` for ${a.assignee_name}` : " into the queue"}`
        : `${who} reopened this conversation`;
  }
}

/** An assignable user: active agent or org_admin of the organization (SQL, for the guarded UPDATE). */
const assignable = (userId: SQL | Uuid, organizationId: Uuid): SQL =>
  sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${userId} AND ${users.organizationId} = ${organizationId}
      AND ${users.active} AND ${users.role} IN ('agent', 'org_admin'))`;

/**
 * Applies `next` if the conversation is still in `expected`, and stores the system line, in one
 * transaction. Null when the guard failed (someone else changed it first): nothing was written.
 */
async function transition(
  db: Queryable,
  current: ConversationRow,
  contact: ContactRow,
  next: Transition,
  action: Omit<ConversationAction, "assignee_id"> & { assignee_id: Uuid | null },
  extraGuard?: SQL,
  /** Set when `db` is already a transaction (inbound ingest): the action joins it. */
  joinTransaction = false,
): Promise<ActionResult | null> {
  const run = async (tx: Queryable): Promise<ActionResult | null> => {
    const guard = and(
      eq(conversations.id, current.id),
      eq(conversations.status, current.status),
      current.assignedAgentId === null
        ? sql`${conversations.assignedAgentId} IS NULL`
        : eq(conversations.assignedAgentId, current.assignedAgentId),
      extraGuard,
    );
    const [row] = await tx
      .update(conversations)
      .set({ status: next.status, assignedAgentId: next.assignedAgentId })
      .where(guard)
      .returning({ id: conversations.id });
    if (!row) return null;
    return systemLine(tx, current, contact, action);
  };
  return joinTransaction ? run(db) : db.transaction(run);
}

/** Stores the system line of `action` and builds the events of the conversation's new state. */
async function systemLine(
  tx: Queryable,
  before: ConversationRow,
  contact: ContactRow,
  action: ConversationAction,
): Promise<ActionResult> {
  const stored = await insertMessage(tx, {
    conversationId: before.id,
    organizationId: before.organizationId,
    direction: "outbound",
    senderType: "system",
    senderId: action.actor_id,
    messageType: "text",
    content: { text: describeAction(action), action },
    status: "delivered",
  });
  const conversation = toConversation(stored.conversation, contact);
  const events: ChatEvent[] = [
    { kind: "message:new", message: toMessage(stored.message) },
    { kind: "conversation:updated", conversation, formerAssignee: before.assignedAgentId },
  ];
  const assignee = stored.conversation.assignedAgentId;
  // Claimed, assigned, or reopened for them: the assignee has (again) something to handle.
  if (assignee !== null && action.kind !== "resolved")
    events.push({
      kind: "conversation:assigned",
      assigned: {
        conversation,
        assigned_by: action.actor_id ? { id: action.actor_id, name: action.actor_name ?? "" } : null,
      },
    });
  return { conversation, events };
}

async function load(db: Queryable, actor: Actor, id: Uuid) {
  const found = await findConversationWithContact(db, actor.organization_id, id);
  const decision = decideAccess(actor, found?.conversation ?? null, "write");
  if (!found || decision.verdict === "not_found") throw refuse.notFound();
  return { ...found, decision };
}

const action = (
  kind: ConversationActionKind,
  actor: Actor,
  assignee: { id: Uuid; name: string } | null,
): ConversationAction => ({
  kind,
  actor_id: actor.user_id,
  actor_name: actor.name,
  assignee_id: assignee?.id ?? null,
  assignee_name: assignee?.name ?? null,
});

/** An agent (or org_admin) takes a queued conversation. Loser of a race: 409 already_claimed. */
export async function claim(db: Database, actor: Actor, id: Uuid): Promise<ActionResult> {
  const { conversation, contact, decision } = await load(db, actor, id);
  if (actor.role === "viewer") throw refuse.forbidden(decision.reason ?? "viewers are read-only");
  if (conversation.assignedAgentId !== null) throw refuse.claimed();
  if (conversation.status === "resolved") throw refuse.resolved();
  const me = { id: actor.user_id, name: actor.name };
  const done = await transition(
    db,
    conversation,
    contact,
    { status: "open", assignedAgentId: actor.user_id },
    action("claimed", actor, me),
  );
  if (done) return done;
  // Lost a race: say what happened (normally another claim).
  const again = await findConversationWithContact(db, actor.organization_id, id);
  if (!again) throw refuse.notFound();
  if (again.conversation.assignedAgentId !== null) throw refuse.claimed();
  throw refuse.conflict();
}

/**
 * Assigns to `agentId` (an active agent or org_admin of the organization), or back to the queue
 * with null. org_admin: any conversation; agent: only their own (a hand-over); viewer: never.
 */
export async function assign(
  db: Database,
  actor: Actor,
  id: Uuid,
  agentId: Uuid | null,
): Promise<ActionResult> {
  const { conversation, contact, decision } = await load(db, actor, id);
  if (decision.verdict === "forbidden") throw refuse.forbidden(decision.reason ?? "not allowed");
  if (actor.role === "agent" && conversation.assignedAgentId !== actor.user_id)
    throw refuse.forbidden("an agent may only hand over their own conversation (claim a queued one)");
  if (conversation.status === "resolved") throw refuse.resolved();
  if (agentId === conversation.assignedAgentId)
    throw new LifecycleError(
      409,
      LIFECYCLE_CODES.noChange,
      agentId === null ? "this conversation is already in the queue" : "already assigned to this user",
    );
  let assignee: { id: Uuid; name: string } | null = null;
  if (agentId !== null) {
    const [user] = await db
      .select({ id: users.id, name: users.name, role: users.role, active: users.active })
      .from(users)
      .where(and(eq(users.id, agentId), eq(users.organizationId, actor.organization_id)))
      .limit(1);
    // A user of another organization is "not found" like one that does not exist.
    if (!user)
      throw new LifecycleError(400, LIFECYCLE_CODES.assigneeNotFound, "agent_id: no such user", "agent_id");
    if (!mayBeAssigned(user.role))
      throw new LifecycleError(
        400,
        LIFECYCLE_CODES.assigneeNotAgent,
        "agent_id: only agents and org_admins can be assigned",
        "agent_id",
      );
    if (!user.active)
      throw new LifecycleError(
        409,
        LIFECYCLE_CODES.assigneeInactive,
        "agent_id: this user is deactivated",
        "agent_id",
      );
    assignee = { id: user.id, name: user.name };
  }
  const done = await transition(
    db,
    conversation,
    contact,
    agentId === null
      ? { status: "queued", assignedAgentId: null }
      : { status: "open", assignedAgentId: agentId },
    action(agentId === null ? "unassigned" : "assigned", actor, assignee),
    // The assignee may be deactivated or demoted meanwhile: checked again in the same statement.
    agentId === null ? undefined : assignable(agentId, actor.organization_id),
  );
  if (!done) throw refuse.conflict();
  return done;
}

export async function resolve(db: Database, actor: Actor, id: Uuid): Promise<ActionResult> {
  const { conversation, contact, decision } = await load(db, actor, id);
  if (decision.verdict === "forbidden") throw refuse.forbidden(decision.reason ?? "not allowed");
  if (conversation.status === "resolved")
    throw new LifecycleError(409, LIFECYCLE_CODES.alreadyResolved, "this conversation is already resolved");
  const assignee = conversation.assignedAgentId;
  const done = await transition(
    db,
    conversation,
    contact,
    { status: "resolved", assignedAgentId: assignee },
    { ...action("resolved", actor, null), assignee_id: assignee },
  );
  if (!done) throw refuse.conflict();
  return done;
}

/** The last assignee if still assignable, else null (the queue). */
async function reopenTarget(
  db: Queryable,
  conversation: ConversationRow,
): Promise<{ id: Uuid; name: string } | null> {
  if (conversation.assignedAgentId === null) return null;
  const [user] = await db
    .select({ id: users.id, name: users.name, role: users.role, active: users.active })
    .from(users)
    .where(
      and(eq(users.id, conversation.assignedAgentId), eq(users.organizationId, conversation.organizationId)),
    )
    .limit(1);
  return user?.active && mayBeAssigned(user.role) ? { id: user.id, name: user.name } : null;
}

export async function reopen(db: Database, actor: Actor, id: Uuid): Promise<ActionResult> {
  const { conversation, contact, decision } = await load(db, actor, id);
  if (decision.verdict === "forbidden") throw refuse.forbidden(decision.reason ?? "not allowed");
  if (conversation.status !== "resolved")
    throw new LifecycleError(
      409,
      LIFECYCLE_CODES.notResolved,
      "only a resolved conversation can be reopened",
    );
  const target = await reopenTarget(db, conversation);
  const done = await transition(
    db,
    conversation,
    contact,
    target ? { status: "open", assignedAgentId: target.id } : { status: "queued", assignedAgentId: null },
    action("reopened", actor, target),
    target ? assignable(target.id, conversation.organizationId) : undefined,
  );
  if (!done) throw refuse.conflict();
  return done;
}

/**
 * Inside the inbound transaction: a message from the contact reopens their resolved conversation
 * (to the last assignee if still assignable, else the queue). Returns the events (after commit).
 */
export async function reopenOnInbound(
  tx: Tx,
  conversation: ConversationRow,
  contact: ContactRow,
): Promise<ChatEvent[]> {
  const target = await reopenTarget(tx, conversation);
  const done = await transition(
    tx,
    conversation,
    contact,
    target ? { status: "open", assignedAgentId: target.id } : { status: "queued", assignedAgentId: null },
    {
      kind: "reopened",
      actor_id: null,
      actor_name: null,
      assignee_id: target?.id ?? null,
      assignee_name: target?.name ?? null,
    },
    target ? assignable(target.id, conversation.organizationId) : undefined,
    true,
  );
  return done?.events ?? [];
}

/**
 * An agent's first reply to a queued conversation claims it (an org_admin may answer without taking
 * it). Null when there is nothing to claim; throws already_claimed when someone was faster.
 */
export async function claimOnReply(
  db: Database,
  actor: Actor,
  conversation: ConversationRow,
): Promise<ActionResult | null> {
  if (actor.role !== "agent" || conversation.status !== "queued" || conversation.assignedAgentId !== null)
    return null;
  return claim(db, actor, conversation.id);
}
