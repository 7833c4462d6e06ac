/** User lookups for authentication. */
import { eq, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { type UserRow, users } from "../../db/schema.ts";
import type { UserSummary } from "../shared/api.ts";
import type { Uuid } from "../shared/events.ts";
import { prepared } from "./prepared.ts";

export async function findUserByEmail(db: Database, email: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(eq(users.email, email.trim().toLowerCase())).limit(1);
  return row ?? null;
}

/** Every authenticated REST call and socket handshake reads the user: prepared once per database. */
export async function findUserById(db: Database, id: Uuid): Promise<UserRow | null> {
  const statement = prepared(db, "user_by_id", () =>
    db
      .select()
      .from(users)
      .where(eq(users.id, sql.placeholder("id")))
      .limit(1)
      .prepare("user_by_id"),
  );
  const [row] = await statement.execute({ id });
  return row ?? null;
}

export const toUserSummary = (u: UserRow): UserSummary => ({
  id: u.id,
  email: u.email,
  name: u.name,
  role: u.role,
  organization_id: u.organizationId,
});
