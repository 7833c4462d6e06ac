-- The statements of one chat message, as the server runs them (src/http/auth.ts requireAuth,
-- src/services/conversations.ts findConversationWithContact, src/services/messages.ts insertMessage
-- and advanceStatus for the sandbox's sent, delivered and read ticks): one pgbench transaction =
-- one message. Autocommit, as in the app (no BEGIN/COMMIT: each statement commits on its own).
-- Differences, all cheaper or equal for PostgreSQL: timestamps are now() instead of bound ISO
-- strings, and the constants the app binds (statuses, content, limit 1) are literals.
-- Every message goes to the one seeded conversation, as in `bun scripts/load --scenarios chat`.
-- Keep in step with those functions: written from them at the commit named in BENCHMARKS.md.
\set r random(1, 1000000000000)
-- 1. REST auth: the user of the bearer token (findUserById).
select "id", "organization_id", "email", "name", "password_hash", "role", "created_at" from "users"
 where "users"."id" = :user_id limit 1;
-- 2. Access: the conversation of the principal's organization, with its contact.
select "conversations"."id", "conversations"."organization_id", "conversations"."contact_id",
       "conversations"."assigned_agent_id", "conversations"."status", "conversations"."last_message_at",
       "conversations"."last_seq", "conversations"."created_at", "contacts"."id", "contacts"."organization_id",
       "contacts"."whatsapp_id", "contacts"."name", "contacts"."created_at"
  from "conversations" inner join "contacts" on "contacts"."id" = "conversations"."contact_id"
 where ("conversations"."id" = :conversation_id and "conversations"."organization_id" = :org_id) limit 1;
-- 3. insertMessage: seq bump under the conversation's row lock + INSERT, one statement.
WITH bumped AS (
  UPDATE conversations
     SET last_seq = last_seq + 1,
         last_message_at = GREATEST(COALESCE(last_message_at, now()), now())
   WHERE id = :conversation_id::uuid
  RETURNING last_seq, contact_id, assigned_agent_id, status,
            (extract(epoch FROM last_message_at) * 1000)::float8 AS last_message_at_ms,
            (extract(epoch FROM created_at) * 1000)::float8 AS created_at_ms
), inserted AS (
  INSERT INTO messages (id, conversation_id, organization_id, seq, direction, sender_type, sender_id,
                        message_type, content, status, whatsapp_message_id, created_at, delivered_at)
  SELECT md5(:client_id::text || '.' || :r::text)::uuid, :conversation_id::uuid,
         :org_id::uuid, bumped.last_seq,
         'outbound'::message_direction, 'agent'::sender_type,
         :user_id::uuid, 'text'::message_type,
         '{"text":"pgbench chat path"}'::jsonb, 'pending'::message_status,
         NULL::text, now(), NULL::timestamptz
    FROM bumped
  RETURNING seq
)
SELECT inserted.seq, bumped.contact_id, bumped.assigned_agent_id, bumped.status,
       bumped.last_message_at_ms, bumped.created_at_ms
  FROM inserted, bumped;
-- 4. advanceStatus "sent" by id, storing the channel's id.
update "messages" set "status" = 'sent', "whatsapp_message_id" = 'wamid.pgbench.' || :client_id::text || '.' || :r::text,
       "sent_at" = COALESCE("messages"."sent_at", now())
 where ("messages"."id" = md5(:client_id::text || '.' || :r::text)::uuid and "messages"."status" in ('pending'))
 returning "id", "conversation_id", "organization_id", "seq", "direction", "sender_type", "sender_id", "message_type",
           "content", "status", "whatsapp_message_id", "error_code", "error_message", "created_at", "sent_at",
           "delivered_at", "read_at", "failed_at";
-- 5. advanceStatus "delivered" by the channel's id (the sandbox's first tick).
update "messages" set "status" = 'delivered', "sent_at" = COALESCE("messages"."sent_at", now()),
       "delivered_at" = COALESCE("messages"."delivered_at", now())
 where ("messages"."whatsapp_message_id" = 'wamid.pgbench.' || :client_id::text || '.' || :r::text
        and "messages"."status" in ('pending', 'sent'))
 returning "id", "conversation_id", "organization_id", "seq", "direction", "sender_type", "sender_id", "message_type",
           "content", "status", "whatsapp_message_id", "error_code", "error_message", "created_at", "sent_at",
           "delivered_at", "read_at", "failed_at";
-- 6. advanceStatus "read" by the channel's id (the sandbox's second tick).
update "messages" set "status" = 'read', "sent_at" = COALESCE("messages"."sent_at", now()),
       "delivered_at" = COALESCE("messages"."delivered_at", now()), "read_at" = COALESCE("messages"."read_at", now())
 where ("messages"."whatsapp_message_id" = 'wamid.pgbench.' || :client_id::text || '.' || :r::text
        and "messages"."status" in ('pending', 'sent', 'delivered'))
 returning "id", "conversation_id", "organization_id", "seq", "direction", "sender_type", "sender_id", "message_type",
           "content", "status", "whatsapp_message_id", "error_code", "error_message", "created_at", "sent_at",
           "delivered_at", "read_at", "failed_at";
