/**
 * The REST API as a typed table: every route with its parameters, query and body schemas (the same
 * objects the handlers parse with) and its answers. src/http/openapi/document.ts turns it into the
 * OpenAPI 3.1 document served at /api/v1/openapi.json; test/http/openapi.test.ts checks that every
 * route of the Hono app is in it.
 *
 * A new route: add an entry here (parse its input with the entry's schemas in the handler) and a
 * line in docs/rest-api.md.
 */
import { CONVERSATION_STATUSES, MESSAGE_TYPES } from "../../shared/events.ts";
import { custom, type JsonSchema, object, oneOf, optional, queryInt, string, uuid } from "../schema.ts";

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
  body?: ReturnType<typeof object>;
  responses: Record<number, ApiResponse>;
}

export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const error = (description: string): ApiResponse => ({ description, schema: ref("Error") });

export const MAX_PAGE = 100;
/** WhatsApp's limits: text body 4096 characters, media caption 1024. */
export const MAX_TEXT = 4096;
export const MAX_CAPTION = 1024;

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
});

export const MESSAGE_LIST_QUERY = object({
  limit: optional(queryInt({ min: 1, max: MAX_PAGE, default: 50 })),
  before: optional(queryInt({ min: 1, description: "History: messages with a lower seq (newest first)" })),
  after: optional(
    custom(
      {
        type: "string",
        description:
          "Catch-up: messages after this seq, or after the message with this id (oldest first). Not with `before`.",
      },
      (v) => v as string,
    ),
  ),
});

const textContent = {
  type: "object",
  required: ["text"],
  properties: { text: { type: "string", maxLength: MAX_TEXT } },
};
const mediaContent = {
  type: "object",
  required: ["url"],
  properties: {
    url: { type: "string", format: "uri", maxLength: 2048 },
    caption: { type: "string", maxLength: MAX_CAPTION },
    filename: { type: "string", maxLength: 255 },
  },
};
const templateContent = {
  type: "object",
  required: ["template_name"],
  properties: {
    template_name: { type: "string", maxLength: 512 },
    language: { type: "string", maxLength: 16 },
    parameters: { type: "array", items: { type: "string" } },
  },
};

/** The content's rule depends on `message_type`; `parseOutgoing` (routes/conversations.ts) applies it. */
export const SEND_MESSAGE_BODY = object({
  message_type: optional(oneOf(MESSAGE_TYPES, "Default text")),
  content: custom(
    {
      description:
        "text: {text}; image, video, document: {url, caption?, filename?}; audio: {url}; template: {template_name, language?, parameters?}",
      oneOf: [textContent, mediaContent, templateContent],
    },
    (v) => v,
  ),
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
      400: error("An invalid limit, cursor or status"),
      401: error("No or a refused token"),
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
      "Stored as `pending` and emitted as `message:new`; the channel then moves it to sent → delivered → read (or failed), each step emitted as `message:status`.",
    auth: true,
    params: CONVERSATION_ID,
    body: SEND_MESSAGE_BODY,
    responses: {
      201: {
        description: "The stored message",
        schema: { type: "object", required: ["message"], properties: { message: ref("Message") } },
      },
      400: error("An invalid message_type or content field"),
      401: error("No or a refused token"),
      403: error("A viewer, or an agent's colleague's conversation"),
      404: error("No such conversation in your organization"),
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
