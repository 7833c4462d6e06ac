/**
 * The logger keeps user data out of error logs: a failed query's parameters (Drizzle's "params:"
 * line) are cut, a database server's quoted values are blanked, and a driver's other fields
 * (params, query, detail) are never written; the schema names (code, constraint, table) stay.
 * The errors are real ones, from an embedded PGlite database.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { type DatabaseHandle, openDatabase } from "../../db/client.ts";
import { createLogger } from "../../protocol/logger.ts";

const SECRET = "customer's private message 7c41";

/** Runs `fn` with stderr captured, at LOG_LEVEL=error, and answers what the logger wrote. */
function captureStderr(fn: () => void): string {
  const original = process.stderr.write.bind(process.stderr);
  let written = "";
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = original;
  }
  return written;
}

describe("error logs without user data", () => {
  let database: DatabaseHandle;
  beforeAll(async () => {
    database = await openDatabase();
    await database.db.execute(sql`create table notes (id int primary key, body text not null)`);
    await database.db.execute(sql`insert into notes values (1, 'first')`);
  });
  afterAll(() => database?.close());

  const failure = async (query: ReturnType<typeof sql>): Promise<unknown> => {
    try {
      await database.db.execute(query);
    } catch (err) {
      return err;
    }
    throw new Error("the query did not fail");
  };

  test("a failed query's parameters are cut, its SQL and code kept", async () => {
    const err = await failure(sql`insert into notes values (1, ${SECRET})`);
    expect(String((err as Error).message)).toContain(SECRET); // the raw error does carry it
    const line = captureStderr(() => createLogger("test").error("insert failed", { error: err }));
    expect(line).not.toContain(SECRET);
    const logged = JSON.parse(line) as {
      error: { message: string; cause: { code: string; constraint?: string } };
    };
    expect(logged.error.message).toContain("insert into notes values");
    expect(logged.error.message).toContain("params: [redacted]");
    expect(logged.error.cause.code).toBe("23505");
    expect(logged.error.cause.constraint).toBe("notes_pkey");
  });

  test("a value quoted by the database server is blanked", async () => {
    const err = await failure(sql`select ${SECRET}::int`);
    const line = captureStderr(() => createLogger("test").error("cast failed", { error: err }));
    expect(line).not.toContain(SECRET);
    expect(line).toContain('\\"[redacted]\\"');
    expect(line).toContain("22P02");
  });

  test("an ordinary error keeps its message", () => {
    const line = captureStderr(() =>
      createLogger("test").error("boom", { error: new Error('a "quoted" word') }),
    );
    expect(line).toContain('a \\"quoted\\" word');
  });
});
