ALTER TABLE "conversations" ADD COLUMN "last_inbound_at" timestamp with time zone;--> statement-breakpoint
-- Conversations that existed before the column: their window starts at their last inbound message.
UPDATE "conversations" c SET "last_inbound_at" = (SELECT max(m."created_at") FROM "messages" m WHERE m."conversation_id" = c."id" AND m."direction" = 'inbound') WHERE c."last_inbound_at" IS NULL;
