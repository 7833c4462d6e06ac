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
-- Keep in step with those functions: written from them at the commit named in BENCHMARKS.md.
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
WITH input AS (
  SELECT * FROM ROWS FROM (jsonb_to_recordset(jsonb_build_array(jsonb_build_object(
      'id', md5(:client_id::text || '.' || :r::text)::uuid, 'sender_id', :user_id::uuid,
      'key', 'pgbench.' || :client_id::text || '.' || :r::text, 'message_type', 'text',
      'content', '{"text":"pgbench chat path"}'::jsonb, 'at', now(), 'budget_ms', 21600000)))
           AS (id uuid, sender_id uuid, key text, message_type message_type, content jsonb,
               at timestamptz, budget_ms int)) WITH ORDINALITY AS t(id, sender_id, key, message_type,
                                                                  content, at, budget_ms, ord)
), swept AS (
  DELETE FROM idempotency_keys AS k
   USING (SELECT DISTINCT sender_id FROM input WHERE key IS NOT NULL) AS s
   WHERE k.user_id = s.sender_id AND k.created_at < now() - interval '24 hours'
     AND NOT EXISTS (SELECT 1 FROM input WHERE input.sender_id = k.user_id AND input.key = k.key)
), claim AS (
  INSERT INTO idempotency_keys (user_id, key, message_id, created_at)
  SELECT sender_id, key, id, now() FROM input
   WHERE key IS NOT NULL AND EXISTS (SELECT 1 FROM conversations WHERE id = :conversation_id::uuid)
  ON CONFLICT (user_id, key) DO UPDATE SET message_id = EXCLUDED.message_id, created_at = EXCLUDED.created_at
   WHERE idempotency_keys.created_at < now() - interval '24 hours'
  RETURNING message_id
), accepted AS (
  SELECT input.*, row_number() OVER (ORDER BY ord) AS n, count(*) OVER () AS total FROM input
   WHERE key IS NULL OR id IN (SELECT message_id FROM claim)
), bumped AS (
  UPDATE conversations
     SET last_seq = last_seq + (SELECT count(*) FROM accepted),
         last_message_at = GREATEST(COALESCE(last_message_at, (SELECT max(at) FROM accepted)),
                                    (SELECT max(at) FROM accepted))
   WHERE id = :conversation_id::uuid AND EXISTS (SELECT 1 FROM accepted)
  RETURNING last_seq, contact_id, assigned_agent_id, status,
            (extract(epoch FROM last_message_at) * 1000)::float8 AS last_message_at_ms,
            (extract(epoch FROM last_inbound_at) * 1000)::float8 AS last_inbound_at_ms,
            (extract(epoch FROM created_at) * 1000)::float8 AS created_at_ms
), inserted AS (
  INSERT INTO messages (id, conversation_id, organization_id, seq, direction, sender_type, sender_id,
                        message_type, content, status, created_at)
  SELECT a.id, :conversation_id::uuid, :org_id::uuid, bumped.last_seq - a.total + a.n,
         'outbound'::message_direction, 'agent'::sender_type, a.sender_id, a.message_type, a.content,
         'pending'::message_status, a.at
    FROM accepted AS a, bumped
  RETURNING id, seq
), queued AS (
  INSERT INTO outbox_jobs (kind, ref_id, state, attempts, next_attempt_at, deadline_at)
  SELECT 'send_message'::outbox_job_kind, inserted.id, 'queued'::outbox_job_state, 0, now(),
         now() + a.budget_ms * interval '1 millisecond'
    FROM inserted JOIN accepted AS a ON a.id = inserted.id
)
SELECT inserted.id, inserted.seq, bumped.contact_id, bumped.assigned_agent_id, bumped.status,
       bumped.last_message_at_ms, bumped.last_inbound_at_ms, bumped.created_at_ms
  FROM inserted, bumped;
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
WITH v AS (
  SELECT * FROM jsonb_to_recordset(jsonb_build_array(jsonb_build_object(
      'message_id', md5(:client_id::text || '.' || :r::text)::uuid,
      'wamid', 'wamid.pgbench.' || :client_id::text || '.' || :r::text, 'at', now(),
      'job_id', :job_id::uuid, 'job_owner', 'pgbench.' || :client_id::text, 'job_attempts', :job_attempts::int)))
    AS v(message_id uuid, wamid text, at timestamptz, job_id uuid, job_owner text, job_attempts int)
), sent AS (
  UPDATE messages AS m SET status = 'sent', whatsapp_message_id = v.wamid, sent_at = COALESCE(m.sent_at, v.at)
    FROM v
   WHERE m.id = v.message_id AND m.id = ANY (ARRAY(SELECT v.message_id FROM v)) AND m.status IN ('pending')
  RETURNING m.id
), done AS (
  DELETE FROM outbox_jobs USING v
   WHERE id = v.job_id AND state = 'leased' AND lease_owner = v.job_owner AND attempts = v.job_attempts
)
SELECT id FROM sent;
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
