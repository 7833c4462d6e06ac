/**
 * Content of a message (stored as jsonb). `text` for text messages; media messages carry a link
 * and optional caption/filename; template messages carry the template name, language and params.
 * It lives here because the schema stores it and db/ never imports from src/; src/shared/events.ts
 * re-exports it for the API and the clients.
 */
export interface MessageContent {
  text?: string;
  url?: string;
  caption?: string;
  filename?: string;
  mime_type?: string;
  /** A media file stored by Switchboard (inbound attachments): read it at `url`, `/api/v1/media/<id>`. */
  media_id?: string;
  template_name?: string;
  language?: string;
  parameters?: string[];
  /** On a system line (sender_type "system"): the lifecycle action it records; `text` says it in words. */
  action?: ConversationAction;
}
/** The lifecycle actions a system line records. */
export type ConversationActionKind = "claimed" | "assigned" | "unassigned" | "resolved" | "reopened";
/** Who did what to a conversation; `actor_*` null when the system did it (an inbound message reopened it). */
export interface ConversationAction {
  kind: ConversationActionKind;
  actor_id: string | null;
  actor_name: string | null;
  /** The assignee after the action (null: the queue). */
  assignee_id: string | null;
  assignee_name: string | null;
}
