/**
 * Prepares the database of `scripts/load/pgbench-chat.sh`: a fresh `switchboard_pgbench` next to
 * the given PostgreSQL database, the repository's migrations applied and the demo organization
 * seeded (exactly what the chat scenario's server starts from). Prints the shell variables the
 * pgbench script needs: DB_URL, USER_ID (the demo admin, the sender), ORG_ID, CONVERSATION_ID.
 * `--drop` drops the database instead.
 * Env: TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test), PGBENCH_DATABASE (default
 * switchboard_pgbench; the smoke test takes its own).
 */
import postgres from "postgres";
import { openDatabase } from "../../../db/client.ts";
import { seedIfEmpty } from "../../../src/seed.ts";

const DATABASE = process.env.PGBENCH_DATABASE ?? "switchboard_pgbench";
if (!/^[a-z_][a-z0-9_]*$/.test(DATABASE)) throw new Error(`PGBENCH_DATABASE ${DATABASE} is not a plain name`);
const adminUrl = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

async function admin(statement: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(statement);
  } finally {
    await sql.end();
  }
}

await admin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
if (process.argv.includes("--drop")) process.exit(0);
await admin(`CREATE DATABASE ${DATABASE}`);
const url = new URL(adminUrl);
url.pathname = `/${DATABASE}`;
const handle = await openDatabase({ databaseUrl: url.toString(), maxConnections: 1 });
await handle.migrate();
const seeded = await seedIfEmpty(handle.db, { whatsappPhoneNumberId: "pgbench" });
await handle.close();
if (!seeded) throw new Error(`${DATABASE} was not empty`);
process.stdout.write(
  [
    `DB_URL=${url.toString()}`,
    `USER_ID=${seeded.admin.id}`,
    `ORG_ID=${seeded.organizationId}`,
    `CONVERSATION_ID=${seeded.conversationId}`,
  ].join("\n") + "\n",
);
