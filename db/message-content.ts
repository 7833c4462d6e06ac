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
  template_name?: string;
  language?: string;
  parameters?: string[];
}
