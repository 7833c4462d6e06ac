/**
 * Start-up failures an operator can fix, as one line that names the cause and the fix (no stack
 * trace): the port is taken, the embedded database is held by another process, PostgreSQL cannot be
 * reached, the database does not exist, the login is refused. Anything else is a bug and keeps its
 * stack. main.ts, scripts/token.ts and any other command that opens the database print these.
 */
import { DatabaseLockedError } from "../../db/pglite-lock.ts";

/** A failure whose message is already the one line to print. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

interface PgLike {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** The innermost error with a string `code` (Drizzle wraps the driver's error in `cause`). */
function codedCause(err: unknown): PgLike | null {
  for (let e = err as PgLike | undefined, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    if (typeof e.code === "string") return e;
    e = e.cause as PgLike | undefined;
  }
  return null;
}

function target(databaseUrl: string): { where: string; database: string; user: string } {
  try {
    const url = new URL(databaseUrl);
    const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || "(default)";
    return {
      where: `${url.hostname || "localhost"}:${url.port || "5432"}`,
      database,
      user: decodeURIComponent(url.username) || "(default user)",
    };
  } catch {
    return { where: "(unparsable DATABASE_URL)", database: "?", user: "?" };
  }
}

/**
 * The one line for a start-up failure an operator can fix, or null when it is not one of those.
 * Never includes the password of DATABASE_URL.
 */
export function describeStartupError(err: unknown, databaseUrl: string | undefined): string | null {
  if (err instanceof StartupError || err instanceof DatabaseLockedError) return err.message;
  const coded = codedCause(err);
  if (!coded || !databaseUrl) return null;
  const code = coded.code as string;
  const { where, database, user } = target(databaseUrl);
  switch (code) {
    case "ECONNREFUSED":
      return `cannot reach PostgreSQL at ${where} (connection refused): start it, or check DATABASE_URL`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `cannot reach PostgreSQL at ${where} (unknown host): check DATABASE_URL`;
    case "ETIMEDOUT":
    case "CONNECT_TIMEOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `cannot reach PostgreSQL at ${where} (no answer): check DATABASE_URL and the network`;
    case "3D000":
      return `database "${database}" does not exist on PostgreSQL at ${where}: create it with createdb ${database} (or fix DATABASE_URL)`;
    case "28P01":
    case "28000":
      return `PostgreSQL at ${where} refused to log in user "${user}" (${String(coded.message)}): check the user and password in DATABASE_URL`;
    case "42501":
      return `user "${user}" may not create the schema in database "${database}" on ${where}: grant it CREATE, or use the database owner in DATABASE_URL`;
    default:
      return null;
  }
}
