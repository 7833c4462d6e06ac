/**
 * The chat schema (Drizzle). Migrations under db/migrations are generated from this file by
 * `bun run db:generate` (drizzle-kit) and applied at start-up by db/migrate.ts.
 */
import { sql } from "drizzle-orm";
import {
  boolean,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import type { MessageContent } from "./message-content.ts";

export const userRole = pgEnum("user_role", ["org_admin", "agent", "viewer"]);
/** The lifecycle: queued (no assignee) → open (assigned) → resolved → reopened (queued or open). */
export const conversationStatus = pgEnum("conversation_status", ["queued", "open", "resolved"]);
export const messageDirection = pgEnum("message_direction", ["inbound", "outbound"]);
export const senderType = pgEnum("sender_type", ["contact", "agent", "bot", "system"]);
export const messageType = pgEnum("message_type", [
  "text",
  "image",
  "video",
  "audio",
  "document",
  "template",
]);
export const messageStatus = pgEnum("message_status", ["pending", "sent", "delivered", "read", "failed"]);

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const organizations = pgTable("organizations", {
  id: uuid("id").primaryKey().defaultRandom(),
  name: text("name").notNull(),
  /** The WhatsApp business number of the organization: routes inbound webhooks to it. */
  whatsappPhoneNumberId: text("whatsapp_phone_number_id").unique(),
  createdAt: tstz("created_at").notNull().defaultNow(),
});

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    organizationId: uuid("organization_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    email: text("email").notNull().unique(),
    name: text("name").notNull(),
    passwordHash: text("password_hash").notNull(),
    role: userRole("role").notNull().default("agent"),
    active: boolean("active").notNull().default(true),
    createdAt: tstz("created_at").notNull().defaultNow(),
  },
  (t) => [index("users_organization_idx").on(t.organizationId)],
);

/**
 * A login session of one device: the family of refresh tokens that descend from one login. Access
 * tokens name their session (`sid`), so revoking it (logout, password change, deactivation, a
 * reused refresh token) ends the device's access at once, not when its access token expires.
 */
export const authSessions = pgTable(
  "auth_sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: tstz("created_at").notNull().defaultNow(),
    /** Expiry of its newest refresh token: the session ends if it is not refreshed before then. */
    expiresAt: tstz("expires_at").notNull(),
    revokedAt: tstz("revoked_at"),
    /** Why it was revoked: "logout", "password_changed", "account_disabled", "refresh_token_reused". */
    revokedReason: text("revoked_reason"),
  },
  (t) => [index("auth_sessions_user_idx").on(t.userId)],
);

/**
 * Every refresh token ever issued to a session, by the SHA-256 of the token (the token itself is
 * never stored). A token is good once: using it sets `rotated_at`, and a second use of a rotated
 * token revokes its whole session (someone else holds a copy).
 */
export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    sessionId: uuid("session_id")
      .notNull()
      .references(() => authSessions.id, { onDelete: "cascade" }),
    issuedAt: tstz("issued_at").notNull().defaultNow(),
    expiresAt: tstz("expires_at").notNull(),
    rotatedAt: tstz("rotated_at"),
  },
  (t) => [index("refresh_tokens_session_idx").on(t.sessionId)],
);

export const contacts = pgTable(
  "contacts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    organizationId: uuid("organization_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    whatsappId: text("whatsapp_id").notNull(),
    name: text("name"),
    createdAt: tstz("created_at").notNull().defaultNow(),
  },
  (t) => [uniqueIndex("contacts_org_whatsapp_uq").on(t.organizationId, t.whatsappId)],
);

export const conversations = pgTable(
  "conversations",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    organizationId: uuid("organization_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    contactId: uuid("contact_id")
      .notNull()
      .references(() => contacts.id, { onDelete: "cascade" }),
    assignedAgentId: uuid("assigned_agent_id").references(() => users.id, { onDelete: "set null" }),
    status: conversationStatus("status").notNull().default("queued"),
    lastMessageAt: tstz("last_message_at"),
    /**
     * When the contact last wrote (the newest inbound message's time): WhatsApp's 24-hour customer
     * service window runs from it (src/services/service-window.ts). Set with every inbound message.
     */
    lastInboundAt: tstz("last_inbound_at"),
    /** Highest message seq; bumped under the row lock in the transaction that stores a message. */
    lastSeq: integer("last_seq").notNull().default(0),
    createdAt: tstz("created_at").notNull().defaultNow(),
  },
  (t) => [
    // The inbox list: one organization's conversations by recent activity.
    index("conversations_org_activity_idx").on(
      t.organizationId,
      sql`${t.lastMessageAt} DESC NULLS LAST`,
      sql`${t.id} DESC`,
    ),
    // Inbound routing: the contact's live conversation.
    index("conversations_contact_status_idx").on(t.contactId, t.status),
  ],
);

export const messages = pgTable(
  "messages",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    conversationId: uuid("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    organizationId: uuid("organization_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    direction: messageDirection("direction").notNull(),
    senderType: senderType("sender_type").notNull(),
    senderId: uuid("sender_id").references(() => users.id, { onDelete: "set null" }),
    messageType: messageType("message_type").notNull().default("text"),
    content: jsonb("content").$type<MessageContent>().notNull(),
    status: messageStatus("status").notNull().default("pending"),
    whatsappMessageId: text("whatsapp_message_id").unique(),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    createdAt: tstz("created_at").notNull().defaultNow(),
    sentAt: tstz("sent_at"),
    deliveredAt: tstz("delivered_at"),
    readAt: tstz("read_at"),
    failedAt: tstz("failed_at"),
  },
  (t) => [
    // Gap-free order inside a conversation; also serves history pages and `?after=` catch-up.
    uniqueIndex("messages_conversation_seq_uq").on(t.conversationId, t.seq),
    index("messages_organization_idx").on(t.organizationId),
  ],
);

/** What an outbox job does; `ref_id` names the row it works on (messages.id for send_message). */
export const outboxJobKind = pgEnum("outbox_job_kind", ["send_message", "fetch_media"]);
/**
 * queued: waiting for `next_attempt_at`; leased: a worker holds it until `lease_expires_at`;
 * failed: gave up (kept for the retry endpoint and metrics). A job that succeeds is deleted.
 */
export const outboxJobState = pgEnum("outbox_job_state", ["queued", "leased", "failed"]);

/**
 * The durable outbox (src/outbox): work that must happen after a commit, committed in the same
 * transaction as the row it works on, so a crash between the answer to the client and the work
 * cannot lose it.
 */
export const outboxJobs = pgTable(
  "outbox_jobs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    kind: outboxJobKind("kind").notNull(),
    refId: uuid("ref_id").notNull(),
    state: outboxJobState("state").notNull().default("queued"),
    /** Attempts started so far; also the lease's fencing token (a stale holder cannot commit). */
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: tstz("next_attempt_at").notNull().defaultNow(),
    /** Retryable failures are retried until this time; then the job fails with its last error. */
    deadlineAt: tstz("deadline_at").notNull(),
    leaseOwner: text("lease_owner"),
    leaseExpiresAt: tstz("lease_expires_at"),
    lastErrorCode: text("last_error_code"),
    lastError: text("last_error"),
    createdAt: tstz("created_at").notNull().defaultNow(),
    updatedAt: tstz("updated_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("outbox_jobs_kind_ref_uq").on(t.kind, t.refId),
    // The claim query: due queued jobs and expired leases, oldest first.
    index("outbox_jobs_due_idx").on(t.state, t.nextAttemptAt),
  ],
);

export const mediaStatus = pgEnum("media_status", ["pending", "ready", "failed"]);

/**
 * A media file (src/media): an inbound attachment fetched from the provider by the outbox worker
 * (`fetch_media` job), stored behind the MediaStorage interface under `storage_key`. Readable by
 * whoever may read its conversation.
 */
export const media = pgTable(
  "media",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    organizationId: uuid("organization_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    conversationId: uuid("conversation_id").references(() => conversations.id, { onDelete: "cascade" }),
    messageId: uuid("message_id"),
    /** The provider's media id (WhatsApp), to fetch it. */
    providerMediaId: text("provider_media_id"),
    mimeType: text("mime_type"),
    sizeBytes: integer("size_bytes"),
    storageKey: text("storage_key"),
    status: mediaStatus("status").notNull().default("pending"),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    createdAt: tstz("created_at").notNull().defaultNow(),
  },
  (t) => [index("media_organization_idx").on(t.organizationId)],
);

/**
 * Idempotency keys of `POST …/messages`: one row per (user, key), pointing at the message it
 * created. The primary key makes concurrent duplicates wait for the first and then find its row.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    messageId: uuid("message_id").notNull(),
    createdAt: tstz("created_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.key] }),
    // A send drops its sender's keys past the window (src/services/accept-message.ts): this finds
    // only those, where the primary key's user_id prefix walked all of the user's keys of the day.
    index("idempotency_keys_user_created_idx").on(t.userId, t.createdAt),
  ],
);

export type OrganizationRow = typeof organizations.$inferSelect;
export type UserRow = typeof users.$inferSelect;
export type AuthSessionRow = typeof authSessions.$inferSelect;
export type ContactRow = typeof contacts.$inferSelect;
export type ConversationRow = typeof conversations.$inferSelect;
export type MessageRow = typeof messages.$inferSelect;
export type OutboxJobRow = typeof outboxJobs.$inferSelect;
export type MediaRow = typeof media.$inferSelect;
