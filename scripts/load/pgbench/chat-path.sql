-- The statements of one chat message, as the server runs them (src/auth/access.ts
-- findUserWithSession, src/services/conversations.ts findConversationWithContact,
-- src/services/accept-message.ts, src/outbox/store.ts claimJobs, src/outbox/store-sent.ts
-- STORE_SENT, and src/services/messages.ts advanceStatus for the sandbox's delivered and read ticks):
-- one pgbench transaction = one message. Autocommit, as in the app (no BEGIN/COMMIT: each statement
-- commits on its own). Differences, all cheaper or equal for PostgreSQL: timestamps are now()
-- instead of bound ISO strings, and the constants the app binds (statuses, content, limit 1) are
-- literals; a claim takes one job (the app's takes what is due, up to its free slots), and the
-- job's message is not read back (the accepting node hands it to its worker, src/outbox/handoff.ts).
-- Every message goes to the one seeded conversation, as in `bun scripts/load --scenarios chat`.
-- Steps 3 and 5 are the app's own statements (ACCEPT_MESSAGES, STORE_SENT): each `-- @statement`
-- line is replaced by that text when scripts/load/pgbench/render.ts writes the script pgbench runs.
-- The others are written from their functions: keep them in step.
\set r random(1, 1000000000000)
-- 1. REST auth: the user of the bearer token with its login session (findUserWithSession).
select "users"."id", "users"."organization_id", "users"."email", "users"."name", "users"."password_hash",
       "users"."role", "users"."active", "users"."created_at", "auth_sessions"."user_id", "auth_sessions"."revoked_at"
  from "users" left join "auth_sessions" on "auth_sessions"."id" = md5('session.' || :client_id::text)::uuid
 where "users"."id" = :user_id limit 1;
-- 2. Access: the conversation of the principal's organization, with its contact.
select "conversations"."id", "conversations"."organization_id", "conversations"."contact_id",
       "conversations"."assigned_agent_id", "conversations"."status", "conversations"."last_message_at",
       "conversations"."last_inbound_at", "conversations"."last_seq", "conversations"."created_at",
       "contacts"."id", "contacts"."organization_id", "contacts"."whatsapp_id", "contacts"."name", "contacts"."created_at"
  from "conversations" inner join "contacts" on "contacts"."id" = "conversations"."contact_id"
 where ("conversations"."id" = :conversation_id and "conversations"."organization_id" = :org_id) limit 1;
-- 3. acceptMessage: idempotency key, seq bump + INSERT, send job, one statement; a batch of one (the
-- app puts the messages of one conversation that arrive together in one statement).
-- @statement accept_message
-- 4. The outbox worker's claim (one due job, whichever: another client's may come first).
WITH claimed AS (
  UPDATE outbox_jobs AS j
     SET state = 'leased', lease_owner = 'pgbench.' || :client_id::text, lease_expires_at = now() + interval '30 seconds',
         attempts = j.attempts + 1, updated_at = now()
    FROM (SELECT id FROM outbox_jobs
           WHERE (state = 'queued' AND next_attempt_at <= now()) OR (state = 'leased' AND lease_expires_at <= now())
           ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED) AS due
   WHERE j.id = due.id
  RETURNING j.id, j.kind, j.ref_id, j.attempts, (extract(epoch FROM j.deadline_at) * 1000)::float8 AS deadline_ms
)
SELECT coalesce((SELECT id FROM claimed), '00000000-0000-0000-0000-000000000000'::uuid) AS job_id,
       coalesce((SELECT attempts FROM claimed), 0) AS job_attempts
\gset
-- 5. STORE_SENT: this client's message "sent" with its channel id, and the claimed job deleted (fenced);
-- a batch of one (the app's worker puts the sends finishing together in one statement).
-- @statement store_sent
-- 6. advanceStatus "delivered" by the channel's id (the sandbox's first tick).
update "messages" set "status" = 'delivered', "sent_at" = COALESCE("messages"."sent_at", now()),
       "delivered_at" = COALESCE("messages"."delivered_at", now())
 where ("messages"."whatsapp_message_id" = 'wamid.pgbench.' || :client_id::text || '.' || :r::text
        and "messages"."status" in ('pending', 'sent'))
 returning "id", "conversation_id", "organization_id", "seq", "direction", "sender_type", "sender_id", "message_type",
           "content", "status", "whatsapp_message_id", "error_code", "error_message", "created_at", "sent_at",
           "delivered_at", "read_at", "failed_at";
-- 7. advanceStatus "read" by the channel's id (the sandbox's second tick).
update "messages" set "status" = 'read', "sent_at" = COALESCE("messages"."sent_at", now()),
       "delivered_at" = COALESCE("messages"."delivered_at", now()), "read_at" = COALESCE("messages"."read_at", now())
 where ("messages"."whatsapp_message_id" = 'wamid.pgbench.' || :client_id::text || '.' || :r::text
        and "messages"."status" in ('pending', 'sent', 'delivered'))
 returning "id", "conversation_id", "organization_id", "seq", "direction", "sender_type", "sender_id", "message_type",
           "content", "status", "whatsapp_message_id", "error_code", "error_message", "created_at", "sent_at",
           "delivered_at", "read_at", "failed_at";
