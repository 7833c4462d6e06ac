/**
 * For command-line tools (scripts/token.ts, scripts/seed.ts, the users CLI): open and migrate the
 * configured database, or print the one-line reason with its fix (the embedded database is held by a
 * running server, PostgreSQL is unreachable, the database does not exist, the login is refused) and
 * exit 1. Anything else is a bug and is thrown with its stack.
 */
import { type DatabaseHandle, openDatabase } from "../../db/client.ts";
import type { Config } from "../config.ts";
import { describeStartupError } from "./errors.ts";

export async function openDatabaseOrExit(
  config: Pick<Config, "databaseUrl" | "pgliteDir">,
  label = "switchboard",
): Promise<DatabaseHandle> {
  let database: DatabaseHandle | undefined;
  try {
    database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: config.pgliteDir });
    await database.migrate();
    return database;
  } catch (err) {
    await database?.close().catch(() => {});
    const line = describeStartupError(err, config.databaseUrl);
    if (line === null) throw err;
    console.error(`${label}: ${line}`);
    process.exit(1);
  }
}
