-- Custom (drizzle-kit cannot generate data moves): maps the legacy statuses onto the lifecycle
-- queued / open / resolved before the next migration replaces the enum. `active` was a synonym of
-- open; `closed` and `archived` were never set by the application and end a conversation: resolved.
-- A status and the assignee must agree: unassigned is queued, assigned is open.
ALTER TABLE "conversations" ALTER COLUMN "status" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "conversations" ALTER COLUMN "status" SET DATA TYPE text;--> statement-breakpoint
UPDATE "conversations" SET "status" = CASE
  WHEN "status" IN ('closed', 'archived') THEN 'resolved'
  WHEN "assigned_agent_id" IS NULL THEN 'queued'
  ELSE 'open'
END;
