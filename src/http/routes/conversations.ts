/**
 * GET /api/v1/conversations (?view=mine|queue|all), GET /api/v1/conversations/counts,
 * GET and POST /api/v1/conversations/:id/messages, and the lifecycle actions
 * POST /api/v1/conversations/:id/{claim,assign,resolve,reopen}.
 * Who may do what: src/services/access.ts. A conversation of another organization answers 404,
 * exactly like one that does not exist.
 */
import { Hono } from "hono";
import type { AppContext } from "../../context.ts";
import { MEDIA_ERROR_CODES } from "../../media/limits.ts";
import { attachToConversation } from "../../media/outbound.ts";
import { ACCESS_MESSAGES, decideAccess, mayListView } from "../../services/access.ts";
import {
  countConversations,
  decodeListCursor,
  findConversationWithContact,
  listConversations,
} from "../../services/conversations.ts";
import { IDEMPOTENCY_ERROR_CODES } from "../../services/idempotency.ts";
import {
  type ActionResult,
  type Actor,
  assign,
  claim,
  claimOnReply,
  LifecycleError,
  reopen,
  resolve,
} from "../../services/lifecycle.ts";
import { toMessage } from "../../services/mappers.ts";
import { findMessage, listMessages } from "../../services/messages.ts";
import { SendRefusal } from "../../services/outbound.ts";
import {
  type ConversationActionResponse,
  type ConversationCounts,
  type ConversationListPage,
  IDEMPOTENCY_KEY_HEADER,
  type MessagesPage,
  type SendMessageResponse,
} from "../../shared/api.ts";
import type { MessageContent, MessageType } from "../../shared/events.ts";
import { type AuthEnv, requireAuth } from "../auth.ts";
import { HTTP_ERROR_CODES, HttpError, invalid, notFound } from "../errors.ts";
import {
  ASSIGN_BODY,
  CLIENT_MESSAGE_ID,
  CONVERSATION_ID,
  CONVERSATION_LIST_QUERY,
  IDEMPOTENCY_HEADERS,
  MESSAGE_LIST_QUERY,
  MESSAGE_REF,
  SEND_MESSAGE_BODY,
} from "../openapi/routes.ts";
import { parseQuery } from "../schema.ts";
import { requireServiceWindow } from "../service-window.ts";
import { readJsonObject } from "../validate.ts";

export const DEFAULT_CONVERSATION_PAGE = 20;
export const DEFAULT_MESSAGE_PAGE = 50;

export function conversationRoutes(ctx: AppContext): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const db = ctx.database.db;
  app.use("*", requireAuth(ctx.tokens, ctx.metrics, ctx.database.db));

  app.get("/", async (c) => {
    const principal = c.get("principal");
    const query = parseQuery(CONVERSATION_LIST_QUERY, (name) => c.req.query(name));
    const { status, view } = query;
    const limit = query.limit ?? DEFAULT_CONVERSATION_PAGE;
    const cursor = query.cursor ? decodeListCursor(query.cursor) : undefined;
    if (cursor === null) throw invalid("cursor", "is not a cursor returned by this endpoint");
    if (view !== undefined && !mayListView(principal.role, view))
      throw new HttpError(
        403,
        HTTP_ERROR_CODES.forbidden,
        "agents list their own conversations and the queue",
      );
    const page = await listConversations(db, principal, {
      limit,
      ...(view ? { view } : {}),
      ...(cursor ? { cursor } : {}),
      ...(status ? { status } : {}),
    });
    return c.json<ConversationListPage>({ data: page.data, next_cursor: page.nextCursor });
  });

  app.get("/counts", async (c) =>
    c.json<ConversationCounts>(await countConversations(db, c.get("principal"))),
  );

  const load = async (principal: AuthEnv["Variables"]["principal"], id: string, write: boolean) => {
    const found = await findConversationWithContact(db, principal.organization_id, id);
    const decision = decideAccess(principal, found?.conversation ?? null, write ? "write" : "read");
    if (decision.verdict === "not_found" || !found) throw notFound("conversation");
    if (decision.verdict === "forbidden")
      throw new HttpError(
        403,
        HTTP_ERROR_CODES.forbidden,
        decision.reason ?? ACCESS_MESSAGES.assignedElsewhere,
      );
    return found;
  };

  /** Live sockets follow the change first (a removed watcher hears nothing more), then the events go out. */
  const announce = async (result: ActionResult) => {
    await ctx.liveAccess.conversationChanged({
      id: result.conversation.id,
      organizationId: result.conversation.organization_id,
      assignedAgentId: result.conversation.assigned_agent_id,
    });
    ctx.notifier.publish(result.events, performance.now());
  };

  const actorOf = (c: { get(key: "user"): AuthEnv["Variables"]["user"] }): Actor => {
    const user = c.get("user");
    return { user_id: user.id, organization_id: user.organizationId, role: user.role, name: user.name };
  };

  const act = async <R extends ActionResult | null>(run: () => Promise<R>): Promise<R> => {
    try {
      const result = await run();
      if (result) await announce(result);
      return result;
    } catch (err) {
      if (err instanceof LifecycleError) throw new HttpError(err.status, err.code, err.message, err.field);
      throw err;
    }
  };

  app.post("/:id/claim", async (c) => {
    const { id } = CONVERSATION_ID.parse(c.req.param(), "");
    const result = await act(() => claim(db, actorOf(c), id));
    return c.json<ConversationActionResponse>({ conversation: result.conversation });
  });

  app.post("/:id/assign", async (c) => {
    const { id } = CONVERSATION_ID.parse(c.req.param(), "");
    const { agent_id: agentId } = ASSIGN_BODY.parse(await readJsonObject(c, ctx.config.httpBodyLimit), "");
    const result = await act(() => assign(db, actorOf(c), id, agentId));
    return c.json<ConversationActionResponse>({ conversation: result.conversation });
  });

  app.post("/:id/resolve", async (c) => {
    const { id } = CONVERSATION_ID.parse(c.req.param(), "");
    const result = await act(() => resolve(db, actorOf(c), id));
    return c.json<ConversationActionResponse>({ conversation: result.conversation });
  });

  app.post("/:id/reopen", async (c) => {
    const { id } = CONVERSATION_ID.parse(c.req.param(), "");
    const result = await act(() => reopen(db, actorOf(c), id));
    return c.json<ConversationActionResponse>({ conversation: result.conversation });
  });

  app.get("/:id/messages", async (c) => {
    const principal = c.get("principal");
    const { id } = CONVERSATION_ID.parse(c.req.param(), "");
    const query = parseQuery(MESSAGE_LIST_QUERY, (name) => c.req.query(name));
    const limit = query.limit ?? DEFAULT_MESSAGE_PAGE;
    const before = query.before;
    await load(principal, id, false);
    let after: number | undefined;
    if (query.after && "id" in query.after) {
      const anchor = await findMessage(db, id, query.after.id);
      if (!anchor) throw invalid("after", "is not the id of a message in this conversation");
      after = anchor.seq;
    } else after = query.after?.seq;
    const page = await listMessages(db, id, {
      limit,
      ...(before !== undefined ? { before } : {}),
      ...(after !== undefined ? { after } : {}),
    });
    const last = page.rows[page.rows.length - 1];
    return c.json<MessagesPage>({
      data: page.rows.map(toMessage),
      next_cursor: page.hasMore && last ? String(last.seq) : null,
      order: page.order,
    });
  });

  app.post("/:id/messages", async (c) => {
    const principal = c.get("principal");
    const { id } = CONVERSATION_ID.parse(c.req.param(), "");
    const body = await readJsonObject(c, ctx.config.httpBodyLimit);
    const idempotencyKey = parseIdempotencyKey(c.req.header(IDEMPOTENCY_KEY_HEADER), body.client_message_id);
    const parsed = parseOutgoing(body);
    const { messageType } = parsed;
    const { conversation, contact } = await load(principal, id, true);
    if (ctx.config.serviceWindowEnforced) await requireServiceWindow(db, conversation, messageType);
    const content = parsed.content.media_id
      ? await attachToConversation(db, principal.organization_id, id, parsed.content.media_id, parsed.content)
      : parsed.content;
    if (!content)
      throw new HttpError(
        422,
        MEDIA_ERROR_CODES.unavailable,
        "content.media_id: no uploaded media file of this organization is available for this conversation",
        "content.media_id",
      );
    // An agent's first reply to a queued conversation claims it (409 already_claimed if beaten).
    await act(() => claimOnReply(db, actorOf(c), conversation));
    try {
      const sent = await ctx.sender.send(conversation, contact, {
        senderId: principal.user_id,
        messageType,
        content,
        idempotencyKey,
      });
      // 200 for a repeat: the original message, nothing sent again.
      return c.json<SendMessageResponse>({ message: sent.message }, sent.created ? 201 : 200);
    } catch (err) {
      throw refusalToHttp(err);
    }
  });

  app.post("/:id/messages/:messageId/retry", async (c) => {
    const principal = c.get("principal");
    const { id, messageId } = MESSAGE_REF.parse(c.req.param(), "");
    const { conversation } = await load(principal, id, true);
    // A retry is a new attempt now: the window rule applies as to a first send (an unknown id falls
    // through to the sender's not_found).
    if (ctx.config.serviceWindowEnforced) {
      const failed = await findMessage(db, conversation.id, messageId);
      if (failed) await requireServiceWindow(db, conversation, failed.messageType);
    }
    try {
      const message = await ctx.sender.retry(conversation, messageId);
      return c.json<SendMessageResponse>({ message }, 202);
    } catch (err) {
      throw refusalToHttp(err);
    }
  });

  return app;
}

function refusalToHttp(err: unknown): unknown {
  if (!(err instanceof SendRefusal)) return err;
  switch (err.reason) {
    case "not_found":
      return notFound("message");
    case "not_failed":
      return new HttpError(409, MESSAGE_NOT_FAILED, err.message);
    case "key_reused":
      return new HttpError(422, IDEMPOTENCY_ERROR_CODES.reused, err.message, IDEMPOTENCY_KEY_HEADER);
  }
}

export const MESSAGE_NOT_FAILED = "message_not_failed";

/**
 * The idempotency key of a send: the `Idempotency-Key` header or `client_message_id` in the body
 * (both may be given when equal), each checked by its schema of the route table. Undefined when
 * neither is.
 */
export function parseIdempotencyKey(header: string | undefined, bodyValue: unknown): string | undefined {
  const fromHeader = IDEMPOTENCY_HEADERS.parse({ [IDEMPOTENCY_KEY_HEADER]: header }, "")[
    IDEMPOTENCY_KEY_HEADER
  ];
  const fromBody = CLIENT_MESSAGE_ID.parse(bodyValue, "client_message_id");
  if (fromHeader !== undefined && fromBody !== undefined && fromHeader !== fromBody)
    throw new HttpError(
      400,
      IDEMPOTENCY_ERROR_CODES.invalid,
      `client_message_id: must equal the ${IDEMPOTENCY_KEY_HEADER} header when both are given`,
      "client_message_id",
    );
  return fromHeader ?? fromBody;
}

/**
 * `{message_type?, content}` parsed by SEND_MESSAGE_BODY (the route table's, published as is):
 * only the documented content fields of the type, every string normalized by the one text rule
 * (src/shared/text.ts) within its limit.
 */
export function parseOutgoing(body: Record<string, unknown>): {
  messageType: MessageType;
  content: MessageContent;
} {
  const parsed = SEND_MESSAGE_BODY.parse(body, "");
  return { messageType: parsed.tag, content: parsed.content as MessageContent };
}
