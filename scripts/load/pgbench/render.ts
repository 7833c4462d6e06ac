/**
 * Writes the pgbench script of the chat path to stdout: scripts/load/pgbench/chat-path.sql with
 * each `-- @statement NAME` line replaced by the app's own statement of that name, its bound
 * parameters turned into pgbench expressions. So the two statements that carry the path's rules
 * (accepting a message, storing a send's provider id) are the server's text, not a copy kept in
 * step by hand.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Query } from "drizzle-orm";
import { STORE_SENT } from "../../../src/outbox/store-sent.ts";
import { ACCEPT_MESSAGES } from "../../../src/services/accept-message.ts";

/** This client's message of this transaction: the same id and channel id in every step. */
const MESSAGE_ID = "md5(:client_id::text || '.' || :r::text)::uuid";
const WAMID = "'wamid.pgbench.' || :client_id::text || '.' || :r::text";
const OWNER = "'pgbench.' || :client_id::text";

/** Each statement with a pgbench expression per placeholder (a batch of one, as a lone message is). */
const STATEMENTS: Record<string, { query: Query; values: Record<string, string> }> = {
  accept_message: {
    query: ACCEPT_MESSAGES,
    values: {
      batch: `jsonb_build_array(jsonb_build_object(
        'id', ${MESSAGE_ID}, 'sender_id', :user_id::uuid, 'key', ${OWNER} || '.' || :r::text,
        'message_type', 'text', 'content', '{"text":"pgbench chat path"}'::jsonb, 'at', now(),
        'budget_ms', 21600000))::text`,
      conversationId: ":conversation_id",
      organizationId: ":org_id",
    },
  },
  store_sent: {
    query: STORE_SENT,
    values: {
      marks: `jsonb_build_array(jsonb_build_object(
        'message_id', ${MESSAGE_ID}, 'wamid', ${WAMID}, 'at', now(),
        'job_id', :job_id::uuid, 'job_owner', ${OWNER}, 'job_attempts', :job_attempts::int))::text`,
    },
  },
};

/** `query`'s text with `$n` replaced: a placeholder by its expression, a bound constant by its literal. */
export function render(name: string): string {
  const statement = STATEMENTS[name];
  if (!statement) throw new Error(`no statement ${name} (known: ${Object.keys(STATEMENTS).join(", ")})`);
  const { query, values } = statement;
  return query.sql.replace(/\$(\d+)/g, (_, n: string) => {
    const param = query.params[Number(n) - 1] as unknown;
    if (param !== null && typeof param === "object" && "name" in param) {
      const expression = values[String(param.name)];
      if (expression === undefined)
        throw new Error(`${name}: no pgbench value for placeholder ${param.name}`);
      return `(${expression})`;
    }
    if (typeof param === "number") return String(param);
    if (typeof param === "string") return `'${param.replaceAll("'", "''")}'`;
    throw new Error(`${name}: parameter $${n} is neither a placeholder nor a constant`);
  });
}

if (import.meta.main) {
  const template = readFileSync(join(import.meta.dir, "chat-path.sql"), "utf8");
  process.stdout.write(
    template.replace(/^-- @statement (\w+)$/gm, (_, name: string) => `${render(name).trim()};`),
  );
}
