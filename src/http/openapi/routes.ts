/**
 * The REST API as a typed table: every route with its parameters, query and body schemas (the same
 * objects the handlers parse with) and its answers. src/http/openapi/document.ts turns it into the
 * OpenAPI 3.1 document served at /api/v1/openapi.json; test/http/openapi.test.ts checks that every
 * route of the Hono app is in it.
 *
 * A new route: add an entry here (parse its input with the entry's schemas in the handler) and a
 * line in docs/rest-api.md.
 */
import { ALLOWED_MEDIA_TYPES } from "../../media/limits.ts";
import { WHATSAPP_PHONE_PATTERN } from "../../sandbox/customer.ts";
import { LIST_VIEWS } from "../../services/access.ts";
import {
  IDEMPOTENCY_ERROR_CODES,
  IDEMPOTENCY_KEY_MAX,
  IDEMPOTENCY_KEY_PATTERN,
  idempotencyKeyProblem,
} from "../../services/idempotency.ts";
import { USER_FIELDS } from "../../services/user-admin.ts";
import { IDEMPOTENCY_KEY_HEADER } from "../../shared/api.ts";
import { CONVERSATION_STATUSES } from "../../shared/events.ts";
import { PATTERNS } from "../../shared/schema.ts";
import { TEXT_LIMITS } from "../../shared/text.ts";
import { HttpError, invalid } from "../errors.ts";
import {
  array,
  custom,
  type JsonSchema,
  type ObjectOptions,
  object,
  oneOf,
  optional,
  queryInt,
  querySeqOrId,
  type Schema,
  string,
  text,
  uuid,
  variants,
} from "../schema.ts";
import { UUID_RE } from "../validate.ts";

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

export interface ApiResponse {
  description: string;
  /** A JSON Schema, or a `$ref` to components/schemas. Omitted: no JSON body. */
  schema?: JsonSchema;
  /** Content type when not JSON (text/plain, text/html). */
  contentType?: string;
}

export interface ApiRoute {
  method: HttpMethod;
  /** Hono's form of the path, with `:name` parameters. */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  /** Needs `Authorization: Bearer <access token>`. */
  auth: boolean;
  params?: ReturnType<typeof object>;
  query?: ReturnType<typeof object>;
  /** Request headers the route reads (besides Authorization and Content-Type). */
  headers?: ReturnType<typeof object>;
  body?: Schema<unknown>;
  /** A body that is not JSON (a media upload): the accepted content types and what it is. */
  rawBody?: { contentTypes: readonly string[]; description: string };
  responses: Record<number, ApiResponse>;
}

export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const error = (description: string): ApiResponse => ({ description, schema: ref("Error") });

export const MAX_PAGE = 100;

// ── schemas the handlers parse with ─────────────────────────────────────────────────────────────

export const LOGIN_BODY = object({
  email: string({ max: 320, format: "email" }),
  password: string({ max: 1024 }),
});

export const REFRESH_BODY = object({ refresh_token: string({ max: 4096 }) });

export const CONVERSATION_ID = object({ id: uuid("A conversation of your organization") });

export const CONVERSATION_LIST_QUERY = object({
  limit: optional(queryInt({ min: 1, max: MAX_PAGE, default: 20 })),
  cursor: optional(string({ max: 512, description: "`next_cursor` of the previous page" })),
  status: optional(oneOf(CONVERSATION_STATUSES)),
  view: optional(
    oneOf(
      LIST_VIEWS,
      "mine: assigned to you; queue: queued, unassigned; all: the whole organization (not for agents: 403). Absent: all you may read",
    ),
  ),
});

export const MESSAGE_REF = object({
  id: uuid("A conversation of your organization"),
  messageId: uuid("A failed outbound message of that conversation"),
});

/** `agent_id`: a user id, or null to put the conversation back in the queue (absent is refused). */
export const ASSIGN_BODY = object({
  agent_id: custom(
    {
      oneOf: [{ type: "string", format: "uuid", pattern: PATTERNS.uuid }, { type: "null" }],
      description: "An active agent or org_admin of your organization, or null (back to the queue)",
    },
    (v, path): string | null => {
      if (v === null) return null;
      if (typeof v !== "string" || !UUID_RE.test(v))
        throw invalid(path, "must be a user id (UUID) or null (back to the queue)");
      return v.toLowerCase();
    },
  ),
});

export const MEDIA_ID = object({ id: uuid("A media file of your organization") });

/**
 * The user administration bodies, from the field rules of src/services/user-admin.ts (shared with
 * the CLI, so they live there and throw its errors; routes/users.ts maps them to 400 and their codes).
 */
/** routes/users.ts leaves ids to src/services/user-admin.ts: unknown, foreign and malformed ids are all 404. */
export const USER_ID = object({
  id: custom(
    {
      type: "string",
      format: "uuid",
      description: "A user of your organization (an unknown, foreign or malformed id is 404 alike)",
    },
    (v) => String(v),
  ),
});

const optionalPassword = optional({
  ...USER_FIELDS.password,
  json: {
    ...USER_FIELDS.password.json,
    description: `${USER_FIELDS.password.json.description}; absent: one is generated and answered once`,
  },
});

export const CREATE_USER_BODY = object({
  email: USER_FIELDS.email,
  name: USER_FIELDS.name,
  role: USER_FIELDS.role,
  password: optionalPassword,
});

export const UPDATE_USER_BODY = object(
  {
    name: optional(USER_FIELDS.name, { nullable: false }),
    role: optional(USER_FIELDS.role, { nullable: false }),
    active: optional(USER_FIELDS.active, { nullable: false }),
  },
  {
    description: "At least one of name, role, active; any other field is refused",
    closed: "cannot be changed here (name, role, active)",
    atLeastOne: "give at least one of name, role, active",
  },
);

export const RESET_PASSWORD_BODY = object({ password: optionalPassword });

export const CHANGE_PASSWORD_BODY = object({
  current_password: USER_FIELDS.currentPassword,
  new_password: USER_FIELDS.password,
});

/** routes/sandbox.ts turns `from` into the WhatsApp id (normalizeWhatsappId) the pattern guarantees. */
export const PHONE_NUMBER_PROBLEM = "must be a phone number in international format, e.g. +15550001111";
export const SIMULATED_CUSTOMER_BODY = object({
  from: text({
    max: 32,
    shape: "line",
    pattern: { source: WHATSAPP_PHONE_PATTERN, message: PHONE_NUMBER_PROBLEM },
    description:
      "The customer's phone number in international format, e.g. +15550001111 (6 to 15 digits; spaces, dashes, dots, parentheses allowed)",
  }),
  name: optional(
    text({ max: TEXT_LIMITS.contactName, shape: "line", description: "The customer's profile name" }),
  ),
  text: text({ max: TEXT_LIMITS.messageText }),
});

/** An idempotency key (header or body): a refusal is 400 `invalid_idempotency_key`, not `validation_error`. */
const idempotencyKey = (description: string) =>
  custom(
    {
      type: "string",
      minLength: 1,
      maxLength: IDEMPOTENCY_KEY_MAX,
      pattern: IDEMPOTENCY_KEY_PATTERN,
      description,
    },
    (v, path) => {
      const refuse = (problem: string) =>
        new HttpError(400, IDEMPOTENCY_ERROR_CODES.invalid, `${path}: ${problem}`, path);
      if (typeof v !== "string") throw refuse("must be a string");
      const problem = idempotencyKeyProblem(v);
      if (problem) throw refuse(problem);
      return v;
    },
  );

export const IDEMPOTENCY_HEADERS = object({
  [IDEMPOTENCY_KEY_HEADER]: optional(
    idempotencyKey(
      "Makes a retried send safe: the same key in the same conversation answers the original message (200) without sending again. Same as the body's client_message_id.",
    ),
  ),
});

export const CLIENT_MESSAGE_ID = optional(
  idempotencyKey("Idempotency key (or the Idempotency-Key header; equal if both)"),
);

export const MESSAGE_LIST_QUERY = object(
  {
    limit: optional(queryInt({ min: 1, max: MAX_PAGE, default: 50 })),
    before: optional(queryInt({ min: 1, description: "History: messages with a lower seq (newest first)" })),
    after: optional(
      querySeqOrId({
        min: 0,
        description:
          "Catch-up: messages after this seq, or after the message with this id (oldest first). Not with `before`.",
      }),
    ),
  },
  { exclusive: [["before", "after"]] },
);

/** Content objects ignore fields they do not declare; each declared string goes through the text rule. */
const content = <S extends Record<string, Schema<unknown>>>(shape: S, opts: ObjectOptions = {}) =>
  object(shape, { message: "must be an object", ...opts });

const TEXT_CONTENT = content({ text: text({ max: TEXT_LIMITS.messageText }) });

const TEMPLATE_CONTENT = content({
  template_name: text({ max: TEXT_LIMITS.templateName, shape: "line" }),
  language: optional(text({ max: TEXT_LIMITS.language, shape: "line" })),
  parameters: optional(
    array(text({ max: TEXT_LIMITS.templateParameter }), {
      max: TEXT_LIMITS.templateParameters,
      message: "must be an array of strings",
    }),
  ),
});

/** A media message's file: `media_id` (uploaded to POST /api/v1/media) or else a public http(s) `url`. */
const MEDIA_SOURCE = {
  media_id: uuid("A file uploaded to POST /api/v1/media (when given, `url` is ignored)", {
    message: "must be the id of an uploaded media file",
  }),
  url: text({
    max: TEXT_LIMITS.url,
    shape: "line",
    format: "uri",
    pattern: { source: "^[Hh][Tt][Tt][Pp][Ss]?://\\S+$", message: "must be an http(s) URL" },
    description: "A public http(s) link to the file",
  }),
};
const MEDIA: ObjectOptions = { firstOf: ["media_id", "url"] };
const caption = optional(text({ max: TEXT_LIMITS.caption }));
const filename = optional(text({ max: TEXT_LIMITS.filename, shape: "line" }));
const CAPTIONED_CONTENT = content({ ...MEDIA_SOURCE, caption }, MEDIA);

/** One send body per message type; `client_message_id` is common to all. */
const send = <C extends Schema<unknown>>(contentSchema: C) =>
  object({ client_message_id: CLIENT_MESSAGE_ID, content: contentSchema });

/**
 * The send body: `message_type` (absent: text) decides the shape of `content`. Fields a content
 * does not declare are ignored (an audio's caption, an image's filename).
 */
export const SEND_MESSAGE_BODY = variants("message_type", "text", {
  text: send(TEXT_CONTENT),
  image: send(CAPTIONED_CONTENT),
  video: send(CAPTIONED_CONTENT),
  audio: send(content(MEDIA_SOURCE, MEDIA)),
  document: send(content({ ...MEDIA_SOURCE, caption, filename }, MEDIA)),
  template: send(TEMPLATE_CONTENT),
});

// ── the table ───────────────────────────────────────────────────────────────────────────────────

export const API_ROUTES: readonly ApiRoute[] = [
  {
    method: "post",
    path: "/api/v1/auth/login",
    operationId: "login",
    tag: "auth",
    summary: "Log in with email and password",
    description:
      "10 attempts per client address, then one per 6 s (429). A wrong email or password answer the same 401.",
    auth: false,
    body: LOGIN_BODY,
    responses: {
      200: { description: "A token pair and the user", schema: ref("TokenResponse") },
      400: error("A missing or invalid field"),
      401: error("Wrong email or password (`invalid_credentials`)"),
      429: error("Too many attempts from this address"),
    },
  },
  {
    method: "post",
    path: "/api/v1/auth/refresh",
    operationId: "refresh",
    tag: "auth",
    summary: "A new token pair from a refresh token",
    auth: false,
    body: REFRESH_BODY,
    responses: {
      200: { description: "A new token pair", schema: ref("TokenResponse") },
      400: error("A missing refresh_token"),
      401: error("Refused: expired, invalid, an access token (`wrong_token_type`) or the user is gone"),
    },
  },
  {
    method: "get",
    path: "/api/v1/auth/me",
    operationId: "me",
    tag: "auth",
    summary: "The user of the token",
    auth: true,
    responses: {
      200: {
        description: "The user",
        schema: { type: "object", required: ["user"], properties: { user: ref("User") } },
      },
      401: error("No or a refused token"),
    },
  },
  {
    method: "get",
    path: "/api/v1/conversations",
    operationId: "listConversations",
    tag: "conversations",
    summary: "The organization's conversations, by last activity (newest first)",
    auth: true,
    query: CONVERSATION_LIST_QUERY,
    responses: {
      200: { description: "One page", schema: ref("ConversationPage") },
      400: error("An invalid limit, cursor, status or view"),
      401: error("No or a refused token"),
      403: error("`view=all` asked by an agent"),
    },
  },
  {
    method: "get",
    path: "/api/v1/conversations/:id/messages",
    operationId: "listMessages",
    tag: "conversations",
    summary: "History (newest first) or catch-up after a seq (oldest first)",
    auth: true,
    params: CONVERSATION_ID,
    query: MESSAGE_LIST_QUERY,
    responses: {
      200: { description: "One page", schema: ref("MessagePage") },
      400: error("An invalid id, limit, before or after"),
      401: error("No or a refused token"),
      403: error("An agent's colleague's conversation"),
      404: error("No such conversation in your organization"),
    },
  },
  {
    method: "post",
    path: "/api/v1/conversations/:id/messages",
    operationId: "sendMessage",
    tag: "conversations",
    summary: "Send a message to the conversation's contact",
    description:
      "Stored as `pending` with an outbox job in one transaction and emitted as `message:new`; the outbox worker sends it (retrying transient failures) and it moves to sent → delivered → read (or failed), each step emitted as `message:status`. An agent's first reply to a queued conversation claims it.",
    auth: true,
    params: CONVERSATION_ID,
    headers: IDEMPOTENCY_HEADERS,
    body: SEND_MESSAGE_BODY,
    responses: {
      200: {
        description: "A repeat of an idempotency key: the original message, nothing sent again",
        schema: ref("MessageResponse"),
      },
      201: { description: "The stored message", schema: ref("MessageResponse") },
      400: error("An invalid message_type or content field, or idempotency key (`invalid_idempotency_key`)"),
      401: error("No or a refused token"),
      403: error("A viewer, or an agent's colleague's conversation"),
      404: error("No such conversation in your organization"),
      409: error(
        "A queued conversation another agent claimed first (`already_claimed`), or a free-form message outside the 24-hour service window with SERVICE_WINDOW_ENFORCED (`outside_service_window`)",
      ),
      413: error("Body larger than HTTP_BODY_LIMIT"),
      415: error("Not application/json"),
      422: error(
        "The key was used in another conversation (`idempotency_key_reused`), or content.media_id names no available file (`media_unavailable`)",
      ),
    },
  },
  {
    method: "get",
    path: "/api/v1/conversations/counts",
    operationId: "countConversations",
    tag: "conversations",
    summary: "Conversations still to handle per inbox tab",
    description: "mine: open and assigned to you; queue: queued; all (not for agents): queued and open.",
    auth: true,
    responses: {
      200: { description: "The counts", schema: ref("ConversationCounts") },
      401: error("No or a refused token"),
    },
  },
  {
    method: "post",
    path: "/api/v1/conversations/:id/claim",
    operationId: "claimConversation",
    tag: "conversations",
    summary: "Take a queued conversation (agent, org_admin)",
    description:
      "Status queued → open, assigned to you. Emits a system message (`message:new`), `conversation:updated` and `conversation:assigned`. Viewers: 403.",
    auth: true,
    params: CONVERSATION_ID,
    responses: {
      200: { description: "The conversation after the change", schema: ref("ConversationResponse") },
      400: error("An invalid id"),
      401: error("No or a refused token"),
      403: error("Not allowed to this role (`forbidden`)"),
      404: error("No such conversation in your organization"),
      409: error(
        "Already assigned (`already_claimed`, also the loser of a race), resolved (`conversation_resolved`) or changed meanwhile (`conversation_changed`)",
      ),
    },
  },
  {
    method: "post",
    path: "/api/v1/conversations/:id/assign",
    operationId: "assignConversation",
    tag: "conversations",
    summary: "Assign to an agent or org_admin, or back to the queue (agent_id null)",
    description:
      "org_admin: any conversation; agent: only their own (a hand-over); viewer: never (403). Emits a system message, `conversation:updated` and, to the new assignee, `conversation:assigned`.",
    auth: true,
    params: CONVERSATION_ID,
    body: ASSIGN_BODY,
    responses: {
      200: { description: "The conversation after the change", schema: ref("ConversationResponse") },
      400: error(
        "An invalid id, or agent_id (`validation_error`, `assignee_not_found`, `assignee_not_agent`)",
      ),
      401: error("No or a refused token"),
      403: error("Not allowed to this role (`forbidden`)"),
      404: error("No such conversation in your organization"),
      409: error(
        "Resolved (`conversation_resolved`), already so (`no_change`), a deactivated assignee (`assignee_inactive`) or changed meanwhile (`conversation_changed`)",
      ),
    },
  },
  {
    method: "post",
    path: "/api/v1/conversations/:id/resolve",
    operationId: "resolveConversation",
    tag: "conversations",
    summary: "Mark the conversation resolved",
    description:
      "Keeps its assignee. An inbound message from the contact reopens it. Agents: only their own; viewers: 403.",
    auth: true,
    params: CONVERSATION_ID,
    responses: {
      200: { description: "The conversation after the change", schema: ref("ConversationResponse") },
      400: error("An invalid id"),
      401: error("No or a refused token"),
      403: error("Not allowed to this role (`forbidden`)"),
      404: error("No such conversation in your organization"),
      409: error("Already resolved (`already_resolved`) or changed meanwhile (`conversation_changed`)"),
    },
  },
  {
    method: "post",
    path: "/api/v1/conversations/:id/reopen",
    operationId: "reopenConversation",
    tag: "conversations",
    summary: "Reopen a resolved conversation",
    description:
      "To its last assignee when still an active agent or org_admin (open), else to the queue (queued).",
    auth: true,
    params: CONVERSATION_ID,
    responses: {
      200: { description: "The conversation after the change", schema: ref("ConversationResponse") },
      400: error("An invalid id"),
      401: error("No or a refused token"),
      403: error("Not allowed to this role (`forbidden`)"),
      404: error("No such conversation in your organization"),
      409: error("Not resolved (`not_resolved`) or changed meanwhile (`conversation_changed`)"),
    },
  },
  {
    method: "post",
    path: "/api/v1/conversations/:id/messages/:messageId/retry",
    operationId: "retryMessage",
    tag: "conversations",
    summary: "Send a failed outbound message again",
    description:
      "The same message (same id and seq) goes back to `pending` with a fresh outbox job; `message:status` follows it.",
    auth: true,
    params: MESSAGE_REF,
    responses: {
      202: { description: "The message, pending again", schema: ref("MessageResponse") },
      400: error("An invalid id or messageId"),
      401: error("No or a refused token"),
      403: error("A viewer, or an agent's colleague's conversation"),
      404: error("No such conversation, or no such outbound message in it"),
      409: error("The message has not failed (`message_not_failed`)"),
    },
  },
  {
    method: "post",
    path: "/api/v1/auth/logout",
    operationId: "logout",
    tag: "auth",
    summary: "End the login session of a refresh token",
    description:
      "Revokes the session; every socket opened with its tokens is disconnected (`session_revoked`). Logging out an already ended session is a 204 too.",
    auth: false,
    body: REFRESH_BODY,
    responses: {
      204: { description: "Logged out" },
      400: error("A missing refresh_token"),
      401: error("Not a refresh token of this server (expired, invalid, `wrong_token_type`)"),
    },
  },
  {
    method: "post",
    path: "/api/v1/auth/password",
    operationId: "changePassword",
    tag: "auth",
    summary: "Change one's own password",
    description:
      "Ends every session of the user (their sockets are disconnected with `session_revoked`) and answers a new token pair for this device. 5 changes at once, then one a minute per user (429).",
    auth: true,
    body: CHANGE_PASSWORD_BODY,
    responses: {
      200: { description: "A new token pair", schema: ref("TokenResponse") },
      400: error(
        "A missing current_password (`validation_error`), or a too short new_password (`weak_password`)",
      ),
      401: error("No or a refused token"),
      403: error("current_password is wrong (`wrong_password`)"),
      429: error("Too many changes"),
    },
  },
  {
    method: "get",
    path: "/api/v1/users",
    operationId: "listUsers",
    tag: "users",
    summary: "Every user of your organization, by email (org_admin)",
    auth: true,
    responses: {
      200: {
        description: "The users",
        schema: {
          type: "object",
          required: ["data"],
          properties: { data: { type: "array", items: ref("ManagedUser") } },
        },
      },
      401: error("No or a refused token"),
      403: error("Not an org_admin"),
    },
  },
  {
    method: "post",
    path: "/api/v1/users",
    operationId: "createUser",
    tag: "users",
    summary: "Create a user in your organization (org_admin)",
    auth: true,
    body: CREATE_USER_BODY,
    responses: {
      201: { description: "The user (and the generated password, once)", schema: ref("ManagedUserResponse") },
      400: error("An invalid email, name or role (`validation_error`), or a weak password (`weak_password`)"),
      401: error("No or a refused token"),
      403: error("Not an org_admin"),
      409: error("The email is in use (`email_taken`)"),
      413: error("Body larger than HTTP_BODY_LIMIT"),
      415: error("Not application/json"),
    },
  },
  {
    method: "patch",
    path: "/api/v1/users/:id",
    operationId: "updateUser",
    tag: "users",
    summary: "Rename, change the role of, deactivate or reactivate a user (org_admin)",
    description:
      "Deactivating ends the user's sessions and disconnects their sockets (`account_disabled`). A role change keeps their sockets connected and removes only the rooms the new role may not see.",
    auth: true,
    params: USER_ID,
    body: UPDATE_USER_BODY,
    responses: {
      200: {
        description: "The user",
        schema: { type: "object", required: ["user"], properties: { user: ref("ManagedUser") } },
      },
      400: error("No field, an unknown field or an invalid value (`validation_error`)"),
      401: error("No or a refused token"),
      403: error("Not an org_admin"),
      404: error("No such user in your organization (also a malformed id)"),
      409: error("It would leave the organization without an active org_admin (`last_admin`)"),
    },
  },
  {
    method: "post",
    path: "/api/v1/users/:id/password",
    operationId: "resetPassword",
    tag: "users",
    summary: "Set a user's password (org_admin)",
    description: "Ends every session of the user (`session_revoked`).",
    auth: true,
    params: USER_ID,
    body: RESET_PASSWORD_BODY,
    responses: {
      200: { description: "The user (and the generated password, once)", schema: ref("ManagedUserResponse") },
      400: error("An invalid password (`validation_error`, `weak_password`)"),
      401: error("No or a refused token"),
      403: error("Not an org_admin"),
      404: error("No such user in your organization (also a malformed id)"),
    },
  },
  {
    method: "get",
    path: "/api/v1/presence",
    operationId: "listPresence",
    tag: "presence",
    summary: "The organization's agents and org_admins: online, away or offline",
    auth: true,
    responses: {
      200: { description: "Presence of each", schema: ref("PresenceList") },
      401: error("No or a refused token"),
      503: error("Presence is not started yet (`service_unavailable`)"),
    },
  },
  {
    method: "post",
    path: "/api/v1/media",
    operationId: "uploadMedia",
    tag: "media",
    summary: "Upload a file, then send it with `content.media_id`",
    description: "The body is the file's bytes, Content-Type its type. At most MEDIA_MAX_BYTES.",
    auth: true,
    rawBody: {
      contentTypes: [...ALLOWED_MEDIA_TYPES],
      description: "The file (the types WhatsApp accepts)",
    },
    responses: {
      201: { description: "The stored file", schema: ref("MediaUpload") },
      400: error("An empty body"),
      401: error("No or a refused token"),
      403: error("A viewer"),
      413: error("Larger than MEDIA_MAX_BYTES (`payload_too_large`)"),
      415: error("Not an accepted media type (`unsupported_media_type`)"),
    },
  },
  {
    method: "get",
    path: "/api/v1/media/:id",
    operationId: "getMedia",
    tag: "media",
    summary: "A stored media file (uploaded, or received from a customer)",
    description:
      "For users who may read its conversation. Served with `X-Content-Type-Options: nosniff` and a sandboxing Content-Security-Policy; images, audio and video inline, the rest as an attachment.",
    auth: true,
    params: MEDIA_ID,
    responses: {
      200: {
        description: "The file's bytes",
        contentType: "application/octet-stream",
        schema: { type: "string", format: "binary" },
      },
      400: error("An invalid id"),
      401: error("No or a refused token"),
      403: error("An agent's colleague's conversation"),
      404: error("No such file in your organization"),
      409: error("Still being fetched from WhatsApp (`media_pending`): retry shortly"),
      410: error("Could not be fetched (`media_unavailable`, with the reason)"),
    },
  },
  {
    method: "get",
    path: "/api/v1/sandbox",
    operationId: "sandbox",
    tag: "sandbox",
    summary: "Whether the sandbox channel is on (only mounted with CHANNEL=sandbox; 404 otherwise)",
    auth: true,
    responses: {
      200: {
        description: "The sandbox is on",
        schema: {
          type: "object",
          required: ["channel", "simulate_customer"],
          properties: {
            channel: { type: "string", const: "sandbox" },
            simulate_customer: { type: "boolean", const: true },
          },
        },
      },
      401: error("No or a refused token"),
    },
  },
  {
    method: "post",
    path: "/api/v1/sandbox/customer-messages",
    operationId: "simulateCustomerMessage",
    tag: "sandbox",
    summary: "A customer of your organization writes in (only with CHANNEL=sandbox)",
    description:
      "Built as a WhatsApp webhook body and stored through the same inbound path (normalization, dedup, events): a new contact and queued conversation the first time.",
    auth: true,
    body: SIMULATED_CUSTOMER_BODY,
    responses: {
      201: { description: "The stored inbound message", schema: ref("MessageResponse") },
      400: error("An invalid from, name or text"),
      401: error("No or a refused token"),
      409: error("The organization has no WhatsApp number (`no_whatsapp_number`)"),
      413: error("Body larger than HTTP_BODY_LIMIT"),
      415: error("Not application/json"),
    },
  },
  {
    method: "get",
    path: "/api/v1/webhooks/whatsapp",
    operationId: "verifyWhatsappWebhook",
    tag: "webhooks",
    summary: "Meta's webhook verification handshake",
    auth: false,
    query: object({
      "hub.mode": oneOf(["subscribe"]),
      "hub.verify_token": optional(string({ max: 512 })),
      "hub.challenge": string({ max: 512 }),
    }),
    responses: {
      200: {
        description: "The challenge, when the token matches WHATSAPP_VERIFY_TOKEN",
        contentType: "text/plain",
        schema: { type: "string" },
      },
      400: error("A missing mode or challenge"),
      403: error("A wrong token, or verification not configured"),
    },
  },
  {
    method: "post",
    path: "/api/v1/webhooks/whatsapp",
    operationId: "receiveWhatsappWebhook",
    tag: "webhooks",
    summary: "Inbound messages and statuses from the WhatsApp Cloud API",
    description:
      "Signed `X-Hub-Signature-256: sha256=HMAC(WHATSAPP_APP_SECRET, raw body)`. Idempotent by WhatsApp message id.",
    auth: false,
    body: object({}, { description: "Meta's webhook payload (object, entry[].changes[].value)" }),
    responses: {
      200: { description: "What was stored", schema: ref("WebhookResult") },
      401: error("No or a wrong signature, or webhooks not configured"),
      413: error("Body larger than WEBHOOK_BODY_LIMIT"),
    },
  },
  {
    method: "get",
    path: "/health",
    operationId: "health",
    tag: "operations",
    summary: "Liveness and the database check",
    auth: false,
    responses: {
      200: { description: "Up (status ok, or degraded without Redis)", schema: ref("Health") },
      503: { description: "The database does not answer", schema: ref("Health") },
    },
  },
  {
    method: "get",
    path: "/metrics",
    operationId: "metrics",
    tag: "operations",
    summary: "Prometheus metrics",
    description:
      "With METRICS_TOKEN: `Authorization: Bearer <METRICS_TOKEN>`. With METRICS_PORT: only on that listener.",
    auth: false,
    responses: {
      200: {
        description: "Prometheus text exposition",
        contentType: "text/plain",
        schema: { type: "string" },
      },
      401: error("METRICS_TOKEN is set and was not presented"),
      404: error("METRICS_PORT moved the endpoint to its own listener"),
    },
  },
  {
    method: "get",
    path: "/api/v1/openapi.json",
    operationId: "openapi",
    tag: "operations",
    summary: "This document",
    auth: false,
    responses: { 200: { description: "OpenAPI 3.1", schema: { type: "object" } } },
  },
  {
    method: "get",
    path: "/api/docs",
    operationId: "apiDocs",
    tag: "operations",
    summary: "The API reference page (served locally, no CDN)",
    auth: false,
    responses: { 200: { description: "HTML", contentType: "text/html", schema: { type: "string" } } },
  },
];
