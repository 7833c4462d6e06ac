/**
 * REST request/response types of `/api/v1`, shared by the server (src/http) and the typed client
 * (src/client, src/web). Browser-safe: no imports except the shared event types.
 */
import type {
  ConversationStatus,
  IsoTimestamp,
  Message,
  MessageContent,
  MessageType,
  PresenceStatus,
  UserRole,
  Uuid,
} from "./events.ts";

export const API_PREFIX = "/api/v1";

export const API_PATHS = {
  login: `${API_PREFIX}/auth/login`,
  refresh: `${API_PREFIX}/auth/refresh`,
  me: `${API_PREFIX}/auth/me`,
  logout: `${API_PREFIX}/auth/logout`,
  password: `${API_PREFIX}/auth/password`,
  users: `${API_PREFIX}/users`,
  user: (userId: Uuid): string => `${API_PREFIX}/users/${userId}`,
  userPassword: (userId: Uuid): string => `${API_PREFIX}/users/${userId}/password`,
  conversations: `${API_PREFIX}/conversations`,
  conversationCounts: `${API_PREFIX}/conversations/counts`,
  /** POST: claim, assign ({agent_id}), resolve, reopen. */
  conversationAction: (conversationId: Uuid, action: ConversationActionName): string =>
    `${API_PREFIX}/conversations/${conversationId}/${action}`,
  presence: `${API_PREFIX}/presence`,
  messages: (conversationId: Uuid): string => `${API_PREFIX}/conversations/${conversationId}/messages`,
  retryMessage: (conversationId: Uuid, messageId: Uuid): string =>
    `${API_PREFIX}/conversations/${conversationId}/messages/${messageId}/retry`,
  whatsappWebhook: `${API_PREFIX}/webhooks/whatsapp`,
  /** Sandbox channel only (404 elsewhere). */
  sandbox: `${API_PREFIX}/sandbox`,
  sandboxCustomerMessages: `${API_PREFIX}/sandbox/customer-messages`,
  media: (mediaId: Uuid): string => `${API_PREFIX}/media/${mediaId}`,
  health: "/health",
  metrics: "/metrics",
} as const;

/** Every error response: HTTP status 4xx/5xx with this JSON body. */
export interface ApiError {
  error: {
    /** Stable code: "validation_error", "unauthorized", "not_found", "forbidden", ... */
    code: string;
    message: string;
    /** For validation errors: the body/query/path field that is wrong (e.g. "content.text"). */
    field?: string;
  };
}

export interface UserSummary {
  id: Uuid;
  email: string;
  name: string;
  role: UserRole;
  organization_id: Uuid;
}

/** POST /api/v1/auth/login */
export interface LoginRequest {
  email: string;
  password: string;
}

/** Answer of login and refresh. */
export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  token_type: "Bearer";
  /** Lifetime of the access token in seconds. */
  expires_in: number;
  /** Lifetime of the refresh token in seconds. */
  refresh_expires_in: number;
  user: UserSummary;
}
export type LoginResponse = TokenResponse;

/** POST /api/v1/auth/refresh */
export interface RefreshRequest {
  refresh_token: string;
}
export type RefreshResponse = TokenResponse;

/** POST /api/v1/auth/logout: ends the session of this refresh token (204). */
export interface LogoutRequest {
  refresh_token: string;
}

/**
 * POST /api/v1/auth/password: changes one's own password. Every session of the user is revoked (and
 * their sockets closed); the answer is a fresh token pair of a new session for the caller.
 */
export interface ChangePasswordRequest {
  current_password: string;
  new_password: string;
}
export type ChangePasswordResponse = TokenResponse;

/** A user as the administration endpoints show it (never the password hash). */
export interface ManagedUser extends UserSummary {
  /** False once deactivated: no login, no refresh, no connection. Users are never deleted. */
  active: boolean;
  created_at: IsoTimestamp;
}

/** GET /api/v1/users (org_admin): every user of the caller's organization, by email. */
export interface UserListResponse {
  data: ManagedUser[];
}

/** POST /api/v1/users (org_admin). Without `password` one is generated and answered once. */
export interface CreateUserRequest {
  email: string;
  name: string;
  role: UserRole;
  password?: string;
}

/** Answer of user creation and of a password reset. */
export interface ManagedUserResponse {
  user: ManagedUser;
  /** Present only when the server generated the password: shown once, never stored in clear. */
  password?: string;
}

/** PATCH /api/v1/users/:id (org_admin): any of the fields. */
export interface UpdateUserRequest {
  name?: string;
  role?: UserRole;
  active?: boolean;
}

/** POST /api/v1/users/:id/password (org_admin). Without `password` one is generated. */
export interface ResetPasswordRequest {
  password?: string;
}

export interface ContactSummary {
  id: Uuid;
  name: string | null;
  whatsapp_id: string;
}

export interface Conversation {
  id: Uuid;
  organization_id: Uuid;
  contact: ContactSummary;
  assigned_agent_id: Uuid | null;
  status: ConversationStatus;
  last_message_at: IsoTimestamp | null;
  /** Highest message seq in the conversation (0 when empty). */
  last_seq: number;
  created_at: IsoTimestamp;
  /**
   * When WhatsApp's 24-hour customer-service window closes (24 h after the contact's last message);
   * null when the contact never wrote since this was tracked. Past it, only templates can be sent.
   */
  service_window_expires_at: IsoTimestamp | null;
}

/**
 * GET /api/v1/conversations?limit=&cursor=&status=
 * Ordered by last activity, most recent first. Pass `next_cursor` back as `cursor` for the next page.
 */
export interface ConversationListQuery {
  /** 1..100, default 20. */
  limit?: number;
  /** mine: assigned to me; queue: unassigned and queued; all: the organization (not for agents). Default: all I may see. */
  view?: "mine" | "queue" | "all";
  cursor?: string;
  status?: ConversationStatus;
}

export interface ConversationListPage {
  data: Conversation[];
  next_cursor: string | null;
}

/**
 * GET /api/v1/conversations/:id/messages
 * - Without `after`: newest first, `limit` per page; pass `next_cursor` back as `before` for older ones.
 * - With `after` (a seq number, or a message id whose seq is used): messages with a higher seq,
 *   oldest first (catch-up after a reconnect); `next_cursor` is the seq to pass as the next `after`.
 */
export interface MessagesQuery {
  /** 1..100, default 50. */
  limit?: number;
  before?: number;
  after?: number | Uuid;
}

export interface MessagesPage {
  data: Message[];
  next_cursor: string | null;
  /** "desc" for the newest-first history, "asc" for catch-up with `after`. */
  order: "asc" | "desc";
}

/**
 * The request header carrying a send's idempotency key (1-128 of letters, digits, `_-.:`). The same
 * key from the same user within 24 h answers 200 with the original message and sends nothing.
 */
export const IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";

/** POST /api/v1/conversations/:id/messages */
export interface SendMessageRequest {
  /** Default "text". */
  message_type?: MessageType;
  content: MessageContent;
  /** The idempotency key in the body, for clients that cannot set headers (same rules as the header). */
  client_message_id?: string;
}

/**
 * 201 answer: the stored message, still "pending"; its status then moves via `message:status`.
 * 200 with the original message when the idempotency key was seen before. Also the 202 answer of
 * `POST …/messages/:id/retry` (the failed message, back to "pending").
 */
export interface SendMessageResponse {
  message: Message;
}

/** The lifecycle actions, `POST /api/v1/conversations/:id/<action>`. */
export type ConversationActionName = "claim" | "assign" | "resolve" | "reopen";

/** Body of `assign`: an active agent or org_admin of the organization, or null (back to the queue). */
export interface AssignRequest {
  agent_id: Uuid | null;
}

/** Answer of every lifecycle action: the conversation after it. */
export interface ConversationActionResponse {
  conversation: Conversation;
}

/** GET /api/v1/conversations/counts: conversations still to handle per inbox tab (`all` not for agents). */
export interface ConversationCounts {
  mine: number;
  queue: number;
  all?: number;
}

/** GET /api/v1/presence: the organization's agents and admins with their availability. */
export interface PresenceList {
  data: { user_id: Uuid; name: string; role: UserRole; status: PresenceStatus }[];
}

/** 201 answer of POST /api/v1/media (body: the file; Content-Type: its type). */
export interface MediaUploadResponse {
  media: {
    id: Uuid;
    mime_type: string;
    size_bytes: number;
    /** Where it is read back (GET, same access rule as its conversation once sent). */
    url: string;
  };
}

/** GET /health */
export interface HealthResponse {
  /** "degraded" when the database or (in a cluster) Redis is unreachable. */
  status: "ok" | "degraded";
  database: "ok" | "error";
  /** In a cluster: the Redis link state ("connected", "reconnecting", ...). */
  redis?: string;
  /** In a cluster: this node's id. */
  node_id?: string;
  uptime_s: number;
  version: string;
}

/** POST /api/v1/sandbox/customer-messages (CHANNEL=sandbox only): a customer writes in. */
export interface SimulatedCustomerRequest {
  /** The customer's number in international format ("+15550001111"). */
  from: string;
  name?: string;
  text: string;
}

/** 201 answer: the inbound message as stored (also delivered as `message:new`). */
export interface SimulatedCustomerResponse {
  message: Message;
}
