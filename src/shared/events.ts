/**
 * The one definition of the realtime (Socket.IO) contract, shared by the server (src/realtime) and
 * the typed client (src/client, src/web). Browser-safe: types and constants only, no runtime imports.
 *
 * Wire names are snake_case on purpose: they are the JSON the stock socket.io-client receives.
 */
import type { ConversationAction, ConversationActionKind, MessageContent } from "../../db/message-content.ts";
import type { Conversation } from "./api.ts";

/** A UUID string (v4 for ids Switchboard creates). */
export type Uuid = string;
/** An ISO-8601 UTC timestamp, e.g. "2026-11-29T01:25:00.000Z". */
export type IsoTimestamp = string;

export type UserRole = "org_admin" | "agent" | "viewer";
/** queued (no assignee) → open (assigned) → resolved → reopened: docs/team-inbox.md. */
export type ConversationStatus = "queued" | "open" | "resolved";
export type MessageDirection = "inbound" | "outbound";
export type SenderType = "contact" | "agent" | "bot" | "system";
export type MessageType = "text" | "image" | "video" | "audio" | "document" | "template";
/** A message only moves forward along pending → sent → delivered → read; failed is terminal. */
export type MessageStatus = "pending" | "sent" | "delivered" | "read" | "failed";

export const USER_ROLES: readonly UserRole[] = ["org_admin", "agent", "viewer"];
export const CONVERSATION_STATUSES: readonly ConversationStatus[] = ["queued", "open", "resolved"];
export const MESSAGE_TYPES: readonly MessageType[] = [
  "text",
  "image",
  "video",
  "audio",
  "document",
  "template",
];
export const MESSAGE_STATUSES: readonly MessageStatus[] = ["pending", "sent", "delivered", "read", "failed"];

/** Content of a message (stored as jsonb): defined next to the schema, which stores it. */
/** A system line's lifecycle action: defined next to MessageContent, which carries it. */
export type { ConversationAction, ConversationActionKind, MessageContent };

/** `conversation:assigned`: to the new assignee's `user:{id}` room. */
export interface ConversationAssignedEvent {
  conversation: Conversation;
  /** Who assigned it (null when the system did: a reopen by an inbound message). */
  assigned_by: { id: Uuid; name: string } | null;
}

/** Availability of a user: online (a live connection anywhere), away (they said so), offline. */
export type PresenceStatus = "online" | "away" | "offline";

/** `presence:updated` (to the organization) and one entry of GET /api/v1/presence. */
export interface PresenceEvent {
  user_id: Uuid;
  status: PresenceStatus;
}

/** Payload of `presence:set`. */
export interface PresenceSetRequest {
  status: "online" | "away";
}

/** `conversation:viewers`: who is watching (has joined) a conversation, to its room. */
export interface ConversationViewersEvent {
  conversation_id: Uuid;
  viewers: { user_id: Uuid; user_name: string }[];
}

/** A stored message, exactly as `message:new` and the REST API deliver it. */
export interface Message {
  id: Uuid;
  conversation_id: Uuid;
  organization_id: Uuid;
  /**
   * Per-conversation sequence number (1, 2, 3, … without gaps), assigned in the transaction that
   * stores the message: a client that sees seq jump knows it missed messages and can catch up with
   * `GET /api/v1/conversations/:id/messages?after=<last seq>`.
   */
  seq: number;
  direction: MessageDirection;
  sender_type: SenderType;
  /** The agent who sent an outbound message; null for contact, bot and system messages. */
  sender_id: Uuid | null;
  message_type: MessageType;
  content: MessageContent;
  status: MessageStatus;
  whatsapp_message_id: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: IsoTimestamp;
  sent_at: IsoTimestamp | null;
  delivered_at: IsoTimestamp | null;
  read_at: IsoTimestamp | null;
  failed_at: IsoTimestamp | null;
}

/** `message:status`: a message moved forward (never backwards). */
export interface MessageStatusEvent {
  message_id: Uuid;
  conversation_id: Uuid;
  status: MessageStatus;
  /** When the status was reached (the channel's timestamp when it gave one). */
  timestamp: IsoTimestamp;
  /** Present when status is "failed". */
  error_code?: string;
  error_message?: string;
  /**
   * True when a failed message was sent again (`POST …/messages/:id/retry`): the one step back,
   * failed → pending, after which it moves forward again.
   */
  retry?: boolean;
}

/** `user_typing`: another user of the conversation started or stopped typing. */
export interface UserTypingEvent {
  conversation_id: Uuid;
  user_id: Uuid;
  /** The typist's display name (users.name), so clients can say "Alice is typing…" without a lookup. */
  user_name: string;
  typing: boolean;
}

/** Stable machine-readable codes of `error` events, ack errors and CONNECT_ERROR `data.code`. */
export const ERROR_CODES = {
  /** Handshake without a token (neither `auth.token` nor `Authorization: Bearer`). */
  missingToken: "missing_token",
  /** Not a JWT, or its claims are not what an access token carries. */
  invalidToken: "invalid_token",
  /** The signature does not verify with the server's key. */
  invalidSignature: "invalid_signature",
  /** The token's `alg` is not the configured one (including "none"). */
  unsupportedAlgorithm: "unsupported_algorithm",
  /** A refresh token was offered where an access token is needed. */
  wrongTokenType: "wrong_token_type",
  /** The token's `exp` has passed; refresh it (REST) and send `auth:refresh`, or reconnect. */
  tokenExpired: "token_expired",
  /** The user of the token no longer exists. */
  unknownUser: "unknown_user",
  /** The account is deactivated: no login, no refresh, no connection (sockets are closed with it). */
  accountDisabled: "account_disabled",
  /**
   * The login session was ended (logout, password change, or a refresh token used twice): its tokens
   * stop working and its sockets are closed with it. Log in again.
   */
  sessionRevoked: "session_revoked",
  /** A refresh token that was already exchanged was offered again; its whole session is revoked. */
  refreshTokenReused: "refresh_token_reused",
  /** A newer connection of the same user pushed this one out (max connections per user). */
  connectionLimit: "connection_limit",
  /** The payload is not the documented shape; `field` names what is wrong. */
  invalidPayload: "invalid_payload",
  /** The conversation does not exist or belongs to another organization. */
  conversationNotFound: "conversation_not_found",
  /** The conversation exists but this user may not do that (agent assignment rule, viewer role). */
  forbidden: "forbidden",
  /** Typing in a conversation this socket has not joined. */
  notJoined: "not_joined",
  /** The per-socket cap on joined conversations is reached. */
  tooManyConversations: "too_many_conversations",
  /** The per-user event budget is spent; the event was dropped. */
  rateLimited: "rate_limited",
  /** Something failed on the server; retrying may help. */
  internalError: "internal_error",
} as const;
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** `error` event (and the `error` of a failed ack). */
export interface ErrorEvent {
  message: string;
  code: ErrorCode;
  /** The client event that caused it, when there is one. */
  event?: string;
  /** The offending payload field, for `invalid_payload`. */
  field?: string;
}

/** `data` of a CONNECT_ERROR (the client sees it as `err.data` in `connect_error`). */
export interface ConnectErrorData {
  code: ErrorCode;
}

/** Payload of `join_conversation`, `leave_conversation`, `typing_start`, `typing_stop`. */
export interface ConversationRef {
  conversation_id: Uuid;
}

export interface ConnectedEvent {
  message: string;
  user_id: Uuid;
}

export interface JoinedConversation {
  conversation_id: Uuid;
  message: string;
  /** Highest seq stored so far, to compare with the last one the client saw. */
  last_seq: number;
}

export interface LeftConversation {
  conversation_id: Uuid;
  message: string;
  /** Set when the server removed the socket: "access_revoked" (the rule no longer lets it watch). */
  reason?: LeaveReason;
}

/** Why the server took a socket out of a conversation. */
export type LeaveReason = "access_revoked";

export interface PongEvent {
  timestamp: IsoTimestamp;
}

/** Payload of `auth:refresh`: a fresh access token for the live socket. */
export interface AuthRefreshRequest {
  token: string;
}

export interface AuthRefreshResult {
  /** New expiry of the socket's session (seconds since epoch, the token's `exp`). */
  expires_at: number;
}

/** Every ack answers `{ok: true, ...result}` or `{ok: false, error}`. */
export type AckResponse<T> = ({ ok: true } & T) | { ok: false; error: ErrorEvent };
export type Ack<T> = (response: AckResponse<T>) => void;

export interface ClientToServerEvents {
  /** Watch a conversation (room `conversation:{id}`); answers `joined_conversation` or `error`. */
  join_conversation: (payload: ConversationRef, ack?: Ack<JoinedConversation>) => void;
  leave_conversation: (payload: ConversationRef, ack?: Ack<LeftConversation>) => void;
  typing_start: (payload: ConversationRef) => void;
  typing_stop: (payload: ConversationRef) => void;
  /** Answered by `pong` (and by the ack when one is given). */
  ping: (ack?: Ack<PongEvent>) => void;
  /** Extend the live socket's session with a new access token without reconnecting. */
  "auth:refresh": (payload: AuthRefreshRequest, ack?: Ack<AuthRefreshResult>) => void;
  /** Set one's availability (every connection of the user); answers with the resulting presence. */
  "presence:set": (payload: PresenceSetRequest, ack?: Ack<PresenceEvent>) => void;
}

export interface ServerToClientEvents {
  connected: (payload: ConnectedEvent) => void;
  joined_conversation: (payload: JoinedConversation) => void;
  left_conversation: (payload: LeftConversation) => void;
  "message:new": (message: Message) => void;
  "message:status": (payload: MessageStatusEvent) => void;
  /**
   * A conversation's inbox entry after a message was stored in it (also the first message of a new
   * conversation), to everyone who may watch it without having joined it.
   */
  "conversation:updated": (conversation: Conversation) => void;
  /** A conversation was assigned to this user (claim, assign, reopen to its assignee). */
  "conversation:assigned": (payload: ConversationAssignedEvent) => void;
  /** A user of the organization became online, away or offline. */
  "presence:updated": (payload: PresenceEvent) => void;
  /** Who is watching a conversation changed (to its room). */
  "conversation:viewers": (payload: ConversationViewersEvent) => void;
  user_typing: (payload: UserTypingEvent) => void;
  error: (payload: ErrorEvent) => void;
  pong: (payload: PongEvent) => void;
}

/** Events between server nodes (serverSideEmit). */
export interface InterServerEvents {
  /** A user's role, organization or name changed: each node refreshes its sockets' data of that user. */
  "access:user_changed": (userId: Uuid) => void;
  /** A user set their availability: each node flags that user's sockets. */
  "presence:away": (userId: Uuid, away: boolean) => void;
}

/** What the server keeps on `socket.data` after the handshake. */
export interface SocketData {
  user_id: Uuid;
  organization_id: Uuid;
  role: UserRole;
  /** The user's display name, read once at the handshake so `user_typing` needs no query per event. */
  user_name: string;
  /** The access token's `exp` (seconds since epoch); the socket is disconnected when it passes. */
  token_exp: number;
  /** The login session of the token (absent for tokens minted by scripts/token.ts). */
  session_id?: Uuid;
  /** Set by `presence:set` "away" (on every connection of the user); absent means online. */
  away?: boolean;
}

/** Room names: every device of a user, and everyone watching a conversation. */
export const userRoom = (userId: Uuid): string => `user:${userId}`;
/** Every socket opened with the tokens of one login session (closed together at logout). */
export const sessionRoom = (sessionId: Uuid): string => `session:${sessionId}`;
export const conversationRoom = (conversationId: Uuid): string => `conversation:${conversationId}`;
/** The inbox audiences of an organization: who sees every conversation (org_admin, viewer)... */
export const organizationInboxRoom = (organizationId: Uuid): string => `org:${organizationId}:inbox`;
/** ...and the agents, who see the unassigned ones (the queue); an assigned one goes to `user:{agent}`. */
export const organizationQueueRoom = (organizationId: Uuid): string => `org:${organizationId}:queue`;
