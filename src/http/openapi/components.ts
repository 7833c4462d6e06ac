/**
 * JSON Schemas of the REST API's answers, for the OpenAPI document's components. They describe the
 * types of src/shared/api.ts and src/shared/events.ts (the answers are built from those types).
 */
import { CONVERSATION_STATUSES, MESSAGE_STATUSES, MESSAGE_TYPES, USER_ROLES } from "../../shared/events.ts";
import type { JsonSchema } from "../schema.ts";

const uuid = { type: "string", format: "uuid" };
const time = { type: "string", format: "date-time" };
const nullable = (schema: JsonSchema): JsonSchema => ({ oneOf: [schema, { type: "null" }] });
const obj = (properties: Record<string, JsonSchema>, optional: string[] = []): JsonSchema => ({
  type: "object",
  properties,
  required: Object.keys(properties).filter((name) => !optional.includes(name)),
});
const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

export const COMPONENT_SCHEMAS: Record<string, JsonSchema> = {
  Error: obj({
    error: obj(
      {
        code: { type: "string", description: "Stable code: validation_error, unauthorized, not_found, …" },
        message: { type: "string" },
        field: {
          type: "string",
          description: "For validation errors: the field that is wrong (e.g. content.text)",
        },
      },
      ["field"],
    ),
  }),
  User: obj({
    id: uuid,
    email: { type: "string" },
    name: { type: "string" },
    role: { type: "string", enum: [...USER_ROLES] },
    organization_id: uuid,
  }),
  TokenResponse: obj({
    access_token: { type: "string" },
    refresh_token: { type: "string" },
    token_type: { type: "string", const: "Bearer" },
    expires_in: { type: "integer", description: "Seconds" },
    refresh_expires_in: { type: "integer", description: "Seconds" },
    user: ref("User"),
  }),
  Conversation: obj({
    id: uuid,
    organization_id: uuid,
    contact: obj({ id: uuid, name: nullable({ type: "string" }), whatsapp_id: { type: "string" } }),
    assigned_agent_id: nullable(uuid),
    status: { type: "string", enum: [...CONVERSATION_STATUSES] },
    last_message_at: nullable(time),
    last_seq: { type: "integer" },
    created_at: time,
  }),
  ConversationPage: obj({
    data: { type: "array", items: ref("Conversation") },
    next_cursor: nullable({ type: "string" }),
  }),
  Message: obj({
    id: uuid,
    conversation_id: uuid,
    organization_id: uuid,
    seq: { type: "integer", description: "Per conversation, 1, 2, 3 … without gaps" },
    direction: { type: "string", enum: ["inbound", "outbound"] },
    sender_type: { type: "string" },
    sender_id: nullable(uuid),
    message_type: { type: "string", enum: [...MESSAGE_TYPES] },
    content: { type: "object" },
    status: { type: "string", enum: [...MESSAGE_STATUSES] },
    whatsapp_message_id: nullable({ type: "string" }),
    error_code: nullable({ type: "string" }),
    error_message: nullable({ type: "string" }),
    created_at: time,
    sent_at: nullable(time),
    delivered_at: nullable(time),
    read_at: nullable(time),
    failed_at: nullable(time),
  }),
  ManagedUser: obj({
    id: uuid,
    email: { type: "string" },
    name: { type: "string" },
    role: { type: "string", enum: [...USER_ROLES] },
    organization_id: uuid,
    active: { type: "boolean", description: "False once deactivated: no login, no refresh, no connection" },
    created_at: time,
  }),
  ManagedUserResponse: obj(
    {
      user: ref("ManagedUser"),
      password: {
        type: "string",
        description: "Only when the server generated the password: shown once, never stored in clear",
      },
    },
    ["password"],
  ),
  ConversationResponse: obj({ conversation: ref("Conversation") }),
  MessageResponse: obj({ message: ref("Message") }),
  ConversationCounts: obj(
    {
      mine: { type: "integer", description: "Open conversations assigned to the caller" },
      queue: { type: "integer", description: "Queued (unassigned) conversations" },
      all: {
        type: "integer",
        description: "Queued and open conversations of the organization (not for agents)",
      },
    },
    ["all"],
  ),
  PresenceList: obj({
    data: {
      type: "array",
      items: obj({
        user_id: uuid,
        name: { type: "string" },
        role: { type: "string", enum: [...USER_ROLES] },
        status: { type: "string", enum: ["online", "away", "offline"] },
      }),
    },
  }),
  MediaUpload: obj({
    media: obj({
      id: uuid,
      mime_type: { type: "string" },
      size_bytes: { type: "integer" },
      url: { type: "string", description: "GET it back here (/api/v1/media/{id})" },
    }),
  }),
  MessagePage: obj({
    data: { type: "array", items: ref("Message") },
    next_cursor: nullable({ type: "string" }),
    order: { type: "string", enum: ["asc", "desc"] },
  }),
  WebhookResult: obj({
    status: { type: "string" },
    stored_messages: { type: "integer" },
    duplicate_messages: { type: "integer" },
    applied_statuses: { type: "integer" },
    ignored_statuses: { type: "integer" },
  }),
  Health: obj(
    {
      status: { type: "string", enum: ["ok", "degraded"] },
      database: { type: "string", enum: ["ok", "error"] },
      redis: { type: "string" },
      node_id: { type: "string" },
      uptime_s: { type: "integer" },
      version: { type: "string" },
    },
    ["redis", "node_id"],
  ),
};
