/**
 * GET /api/v1/conversations, GET and POST /api/v1/conversations/:id/messages.
 * A conversation of another organization answers 404, exactly like one that does not exist.
 */
import { Hono } from "hono";
import type { AppContext } from "../../context.ts";
import {
  canWatch,
  canWrite,
  decodeListCursor,
  findConversationWithContact,
  listConversations,
} from "../../services/conversations.ts";
import { toMessage } from "../../services/mappers.ts";
import { findMessage, listMessages } from "../../services/messages.ts";
import type { ConversationListPage, MessagesPage, SendMessageResponse } from "../../shared/api.ts";
import type { MessageContent, MessageType } from "../../shared/events.ts";
import { type AuthEnv, requireAuth } from "../auth.ts";
import { HTTP_ERROR_CODES, HttpError, invalid, notFound } from "../errors.ts";
import {
  CONVERSATION_ID,
  CONVERSATION_LIST_QUERY,
  MAX_CAPTION,
  MAX_PAGE,
  MAX_TEXT,
  MESSAGE_LIST_QUERY,
  SEND_MESSAGE_BODY,
} from "../openapi/routes.ts";
import { parseQuery } from "../schema.ts";
import {
  hasNul,
  intQuery,
  NUL_REFUSED,
  optionalString,
  readJsonObject,
  requireString,
  UUID_RE,
} from "../validate.ts";

export { MAX_CAPTION, MAX_PAGE, MAX_TEXT };
export const DEFAULT_CONVERSATION_PAGE = 20;
export const DEFAULT_MESSAGE_PAGE = 50;

export function conversationRoutes(ctx: AppContext): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const db = ctx.database.db;
  app.use("*", requireAuth(ctx.tokens, ctx.metrics, ctx.database.db));

  app.get("/", async (c) => {
    const principal = c.get("principal");
    const query = parseQuery(CONVERSATION_LIST_QUERY, (name) => c.req.query(name));
    const limit = query.limit ?? DEFAULT_CONVERSATION_PAGE;
    const cursor = query.cursor ? decodeListCursor(query.cursor) : undefined;
    if (cursor === null) throw invalid("cursor", "is not a cursor returned by this endpoint");
    const status = query.status;
    const page = await listConversations(db, principal.organization_id, {
      limit,
      ...(cursor ? { cursor } : {}),
      ...(status ? { status } : {}),
    });
    return c.json<ConversationListPage>({ data: page.data, next_cursor: page.nextCursor });
  });

  const load = async (principal: AuthEnv["Variables"]["principal"], id: string, write: boolean) => {
    const found = await findConversationWithContact(db, principal.organization_id, id);
    const verdict = (write ? canWrite : canWatch)(principal, found?.conversation ?? null);
    if (verdict === "not_found" || !found) throw notFound("conversation");
    if (verdict === "forbidden")
      throw new HttpError(
        403,
        HTTP_ERROR_CODES.forbidden,
        write && principal.role === "viewer"
          ? "viewers cannot send messages"
          : "this conversation is assigned to another agent",
      );
    return found;
  };

  app.get("/:id/messages", async (c) => {
    const principal = c.get("principal");
    const { id } = CONVERSATION_ID.parse({ id: c.req.param("id") }, "");
    const query = parseQuery(MESSAGE_LIST_QUERY, (name) => c.req.query(name));
    const limit = query.limit ?? DEFAULT_MESSAGE_PAGE;
    const before = query.before;
    const afterRaw = query.after;
    if (before !== undefined && afterRaw !== undefined)
      throw invalid("after", "cannot be combined with before");
    await load(principal, id, false);
    let after: number | undefined;
    if (afterRaw !== undefined) {
      if (UUID_RE.test(afterRaw)) {
        const anchor = await findMessage(db, id, afterRaw.toLowerCase());
        if (!anchor) throw invalid("after", "is not the id of a message in this conversation");
        after = anchor.seq;
      } else {
        after = intQuery(afterRaw, "after", 0);
      }
    }
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
    const { id } = CONVERSATION_ID.parse({ id: c.req.param("id") }, "");
    const body = await readJsonObject(c, ctx.config.httpBodyLimit);
    const { messageType, content } = parseOutgoing(body);
    const { conversation, contact } = await load(principal, id, true);
    const message = await ctx.sender.send(conversation, contact, {
      senderId: principal.user_id,
      messageType,
      content,
    });
    return c.json<SendMessageResponse>({ message }, 201);
  });

  return app;
}

/** Validates `{message_type?, content}` per type; keeps only the documented content fields. */
export function parseOutgoing(body: Record<string, unknown>): {
  messageType: MessageType;
  content: MessageContent;
} {
  const messageType: MessageType =
    SEND_MESSAGE_BODY.shape.message_type.parse(body.message_type, "message_type") ?? "text";
  const raw = body.content;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw invalid("content", "must be an object");
  const c = raw as Record<string, unknown>;
  const opt = (field: string, max: number) => optionalString(c, field, { max, path: `content.${field}` });
  switch (messageType) {
    case "text":
      return {
        messageType,
        content: { text: requireString(c, "text", { max: MAX_TEXT, path: "content.text" }) },
      };
    case "template": {
      const params = c.parameters;
      if (params !== undefined && (!Array.isArray(params) || params.some((p) => typeof p !== "string")))
        throw invalid("content.parameters", "must be an array of strings");
      // Stored in jsonb, which refuses U+0000 in any string.
      const nul = params ? (params as string[]).findIndex(hasNul) : -1;
      if (nul >= 0) throw invalid(`content.parameters[${nul}]`, NUL_REFUSED);
      const content: MessageContent = {
        template_name: requireString(c, "template_name", { max: 512, path: "content.template_name" }),
      };
      const language = opt("language", 16);
      if (language) content.language = language;
      if (params) content.parameters = params as string[];
      return { messageType, content };
    }
    default: {
      const url = requireString(c, "url", { max: 2048, path: "content.url" });
      if (!/^https?:\/\/\S+$/i.test(url)) throw invalid("content.url", "must be an http(s) URL");
      const content: MessageContent = { url };
      const caption = opt("caption", MAX_CAPTION);
      const filename = opt("filename", 255);
      if (caption && messageType !== "audio") content.caption = caption;
      if (filename && messageType === "document") content.filename = filename;
      return { messageType, content };
    }
  }
}
