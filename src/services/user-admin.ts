/**
 * User administration: the one place for its rules, shared by the REST API (src/http/routes/users.ts,
 * src/http/routes/auth.ts) and the CLI (scripts/users.ts).
 *
 * - Every operation is scoped to one organization: a user of another one is "not found".
 * - Emails are trimmed and lowercased, unique across the server (login is by email alone).
 * - Passwords: at least MIN_PASSWORD_LENGTH characters; stored only as an argon2id hash.
 * - Names (of users and organizations) go through the one text rule (src/shared/text.ts), as one
 *   line, then trimmed; a name empty after that is refused.
 * - Users are deactivated, never deleted, so history keeps its authors.
 * - An organization always keeps one active org_admin: demoting or deactivating the last one is
 *   refused. The check runs under a lock of the organization row, so two admins demoting each
 *   other at the same instant cannot both succeed.
 * - Deactivation and password changes revoke every session of the user (in the same transaction).
 *   Closing the user's live sockets is the caller's part (the server: src/realtime/user-sessions.ts).
 */
import { and, asc, count, eq } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { isUniqueViolation } from "../../db/errors.ts";
import { type OrganizationRow, organizations, type UserRow, users } from "../../db/schema.ts";
import { generatePassword, hashPassword, verifyPassword } from "../auth/password.ts";
import { REVOKE_REASONS, revokeUserSessions } from "../auth/sessions.ts";
import type { ManagedUser } from "../shared/api.ts";
import { USER_ROLES, type UserRole, type Uuid } from "../shared/events.ts";
import { field, type JsonSchema, PATTERNS, type Schema } from "../shared/schema.ts";
import { cleanText } from "../shared/text.ts";
import { UUID_RE } from "../shared/uuid.ts";

export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 1024;
export const MAX_EMAIL_LENGTH = 320;
export const MAX_NAME_LENGTH = 100;
/**
 * Something@something.tld, no spaces or control characters, around the spaces that are trimmed:
 * enough to catch typos; the mailbox is never contacted.
 */
const EMAIL_PATTERN =
  "^\\s*[^\\s@\\u0000-\\u001f\\u007f]+@[^\\s@\\u0000-\\u001f\\u007f]+\\.[^\\s@\\u0000-\\u001f\\u007f]+\\s*$";
const EMAIL_RE = new RegExp(EMAIL_PATTERN, "u");
/**
 * No NUL. The other rule, at least 4 different characters, is in the description only: the
 * backreference pattern that expresses it backtracks for seconds on a 1 KB password of three
 * letters, and a gateway or client validating requests against the published document would run
 * it on whatever it is sent. Every published pattern stays linear (test/http/openapi.test.ts).
 */
const PASSWORD_PATTERN = "^[^\\u0000]*$";

/** Stable codes of refused operations; the HTTP layer maps them to statuses, the CLI prints them. */
export const USER_ADMIN_ERRORS = {
  validation: "validation_error",
  weakPassword: "weak_password",
  emailTaken: "email_taken",
  notFound: "not_found",
  organizationNotFound: "organization_not_found",
  organizationAmbiguous: "organization_ambiguous",
  lastAdmin: "last_admin",
  wrongPassword: "wrong_password",
} as const;
export type UserAdminErrorCode = (typeof USER_ADMIN_ERRORS)[keyof typeof USER_ADMIN_ERRORS];

export class UserAdminError extends Error {
  constructor(
    readonly code: UserAdminErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "UserAdminError";
  }
}

const invalidField = (field: string, message: string) =>
  new UserAdminError(USER_ADMIN_ERRORS.validation, `${field}: ${message}`, field);

// ---- validation (every entry point goes through these) ----

export function normalizeEmail(value: unknown, field = "email"): string {
  if (typeof value !== "string") throw invalidField(field, "is required and must be a string");
  const email = value.trim().toLowerCase();
  if (email.length > MAX_EMAIL_LENGTH)
    throw invalidField(field, `must be at most ${MAX_EMAIL_LENGTH} characters`);
  if (!EMAIL_RE.test(email)) throw invalidField(field, "is not an email address");
  return email;
}

/** A user's or an organization's name: the one text rule (one line), trimmed, non-empty, within MAX_NAME_LENGTH. */
export function normalizeName(value: unknown, field = "name"): string {
  if (typeof value !== "string") throw invalidField(field, "is required and must be a string");
  const name = cleanText(value, "line").trim();
  if (name === "") throw invalidField(field, "must not be empty");
  if (name.length > MAX_NAME_LENGTH)
    throw invalidField(field, `must be at most ${MAX_NAME_LENGTH} characters`);
  return name;
}

export function parseRole(value: unknown, field = "role"): UserRole {
  if (typeof value !== "string" || !USER_ROLES.includes(value as UserRole))
    throw invalidField(field, `must be one of ${USER_ROLES.join(", ")}`);
  return value as UserRole;
}

/** Refuses a password that is not a string or too short/long (code `weak_password`). */
export function checkPassword(value: unknown, field = "password"): string {
  if (typeof value !== "string") throw invalidField(field, "must be a string");
  if (value.length < MIN_PASSWORD_LENGTH)
    throw new UserAdminError(
      USER_ADMIN_ERRORS.weakPassword,
      `${field}: must be at least ${MIN_PASSWORD_LENGTH} characters`,
      field,
    );
  if (value.length > MAX_PASSWORD_LENGTH)
    throw invalidField(field, `must be at most ${MAX_PASSWORD_LENGTH} characters`);
  if (value.includes("\u0000")) throw invalidField(field, "must not contain the NUL character");
  if (new Set(value).size < 4)
    throw new UserAdminError(
      USER_ADMIN_ERRORS.weakPassword,
      `${field}: must use at least 4 different characters`,
      field,
    );
  return value;
}

function checkCurrentPassword(value: unknown, field = "current_password"): string {
  if (typeof value !== "string" || value === "")
    throw invalidField(field, "is required and must be a non-empty string");
  return value;
}

function parseActive(value: unknown, field = "active"): boolean {
  if (typeof value !== "boolean") throw invalidField(field, "must be true or false");
  return value;
}

const PASSWORD_JSON: JsonSchema = {
  type: "string",
  minLength: MIN_PASSWORD_LENGTH,
  maxLength: MAX_PASSWORD_LENGTH,
  pattern: PASSWORD_PATTERN,
  description: `At least ${MIN_PASSWORD_LENGTH} characters, at least 4 different ones, no NUL (shorter or fewer: \`weak_password\`)`,
};

/**
 * Each field's rule with its published JSON Schema: src/http/openapi/routes.ts builds the request
 * bodies from these, and the functions below (which the CLI calls) parse with the same ones. Their
 * errors are UserAdminError (the HTTP layer maps the codes to statuses).
 */
export const USER_FIELDS = {
  email: field(
    {
      type: "string",
      format: "email",
      maxLength: MAX_EMAIL_LENGTH,
      pattern: EMAIL_PATTERN,
      description: "Trimmed and lower-cased; unique across the server",
    },
    normalizeEmail,
  ),
  name: field(
    {
      type: "string",
      minLength: 1,
      maxLength: MAX_NAME_LENGTH,
      pattern: PATTERNS.nonBlank,
      description: "One line: control characters are removed, TAB, LF and CR become spaces, then trimmed",
    },
    normalizeName,
  ),
  role: field({ type: "string", enum: [...USER_ROLES] }, parseRole),
  password: field(PASSWORD_JSON, checkPassword),
  currentPassword: field({ type: "string", minLength: 1 }, checkCurrentPassword),
  active: field(
    { type: "boolean", description: "false: deactivate (sessions end, sockets close)" },
    parseActive,
  ),
} satisfies Record<string, Schema<unknown>>;

export const toManagedUser = (u: UserRow): ManagedUser => ({
  id: u.id,
  email: u.email,
  name: u.name,
  role: u.role,
  organization_id: u.organizationId,
  active: u.active,
  created_at: u.createdAt.toISOString(),
});

// ---- organizations ----

export async function createOrganization(
  db: Database,
  input: { name: unknown; whatsappPhoneNumberId?: string | undefined },
): Promise<OrganizationRow> {
  const name = normalizeName(input.name);
  try {
    const [org] = await db
      .insert(organizations)
      .values({ name, whatsappPhoneNumberId: input.whatsappPhoneNumberId ?? null })
      .returning();
    return org!;
  } catch (err) {
    if (isUniqueViolation(err))
      throw invalidField("whatsapp_phone_number_id", "is already used by another organization");
    throw err;
  }
}

/** An organization by id, or by exact name when that name is unique. */
export async function findOrganization(db: Database, idOrName: string): Promise<OrganizationRow> {
  const key = idOrName.trim();
  const rows = UUID_RE.test(key)
    ? await db.select().from(organizations).where(eq(organizations.id, key.toLowerCase()))
    : await db.select().from(organizations).where(eq(organizations.name, key)).limit(2);
  if (rows.length === 0)
    throw new UserAdminError(USER_ADMIN_ERRORS.organizationNotFound, `no organization "${key}"`);
  if (rows.length > 1)
    throw new UserAdminError(
      USER_ADMIN_ERRORS.organizationAmbiguous,
      `several organizations are named "${key}": use the organization id`,
    );
  return rows[0]!;
}

export const listOrganizations = (db: Database): Promise<OrganizationRow[]> =>
  db.select().from(organizations).orderBy(asc(organizations.name));

// ---- users ----

export interface CreateUserInput {
  email: unknown;
  name: unknown;
  role: unknown;
  /** Undefined: a password is generated and answered once. */
  password?: unknown;
}

export interface UserWithPassword {
  user: UserRow;
  /** Set only when the password was generated here. */
  generatedPassword?: string;
}

export async function createUser(
  db: Database,
  organizationId: Uuid,
  input: CreateUserInput,
): Promise<UserWithPassword> {
  const email = normalizeEmail(input.email);
  const name = normalizeName(input.name);
  const role = parseRole(input.role);
  const generated = input.password === undefined || input.password === null ? generatePassword() : undefined;
  const password = generated ?? checkPassword(input.password);
  const passwordHash = await hashPassword(password);
  try {
    const [user] = await db
      .insert(users)
      .values({ organizationId, email, name, role, passwordHash })
      .returning();
    return generated ? { user: user!, generatedPassword: generated } : { user: user! };
  } catch (err) {
    if (isUniqueViolation(err))
      throw new UserAdminError(USER_ADMIN_ERRORS.emailTaken, `email: ${email} is already in use`, "email");
    throw err;
  }
}

export const listUsers = (db: Database, organizationId: Uuid): Promise<UserRow[]> =>
  db.select().from(users).where(eq(users.organizationId, organizationId)).orderBy(asc(users.email));

/** The user `userId` of `organizationId`; another organization's user is "not found" too. */
export async function getUser(db: Database, organizationId: Uuid, userId: string): Promise<UserRow> {
  const id = userIdOrNotFound(userId);
  const [user] = await db
    .select()
    .from(users)
    .where(and(eq(users.id, id), eq(users.organizationId, organizationId)));
  if (!user) throw new UserAdminError(USER_ADMIN_ERRORS.notFound, "user not found");
  return user;
}

/** A user id from outside: a malformed one names no user, so it is "not found" like an unknown one. */
function userIdOrNotFound(userId: string): Uuid {
  if (!UUID_RE.test(userId)) throw new UserAdminError(USER_ADMIN_ERRORS.notFound, "user not found");
  return userId.toLowerCase();
}

export async function getUserByEmail(db: Database, email: string): Promise<UserRow> {
  const [user] = await db
    .select()
    .from(users)
    .where(eq(users.email, normalizeEmail(email)));
  if (!user) throw new UserAdminError(USER_ADMIN_ERRORS.notFound, `no user ${email.trim().toLowerCase()}`);
  return user;
}

export interface UserChanges {
  name?: string;
  role?: UserRole;
  active?: boolean;
}

/** What an update did, so the caller can bring live sockets in line. */
export interface UserUpdate {
  user: UserRow;
  roleChanged: boolean;
  deactivated: boolean;
}

export async function updateUser(
  db: Database,
  organizationId: Uuid,
  userId: string,
  changes: UserChanges,
): Promise<UserUpdate> {
  const id = userIdOrNotFound(userId);
  return db.transaction(async (tx) => {
    // Serializes every admin-changing update of this organization (the last-admin guard below).
    const [org] = await tx
      .select({ id: organizations.id })
      .from(organizations)
      .where(eq(organizations.id, organizationId))
      .for("update");
    const [before] = org
      ? await tx
          .select()
          .from(users)
          .where(and(eq(users.id, id), eq(users.organizationId, organizationId)))
      : [];
    if (!before) throw new UserAdminError(USER_ADMIN_ERRORS.notFound, "user not found");
    const role = changes.role ?? before.role;
    const active = changes.active ?? before.active;
    const losesAdmin = before.role === "org_admin" && before.active && (role !== "org_admin" || !active);
    if (losesAdmin) {
      const [admins] = await tx
        .select({ n: count() })
        .from(users)
        .where(
          and(eq(users.organizationId, organizationId), eq(users.role, "org_admin"), eq(users.active, true)),
        );
      if ((admins?.n ?? 0) <= 1)
        throw new UserAdminError(
          USER_ADMIN_ERRORS.lastAdmin,
          "this is the last active org_admin of the organization: promote another user first",
          changes.active === false ? "active" : "role",
        );
    }
    const [user] = await tx
      .update(users)
      .set({ ...changes })
      .where(eq(users.id, before.id))
      .returning();
    const deactivated = before.active && !active;
    if (deactivated) await revokeUserSessions(tx, before.id, REVOKE_REASONS.accountDisabled);
    return { user: user!, roleChanged: before.role !== role, deactivated };
  });
}

/** Sets a user's password (an admin reset); every session of the user is revoked. */
export async function resetPassword(
  db: Database,
  organizationId: Uuid,
  userId: string,
  password?: unknown,
): Promise<UserWithPassword> {
  const id = userIdOrNotFound(userId);
  const generated = password === undefined || password === null ? generatePassword() : undefined;
  const passwordHash = await hashPassword(generated ?? checkPassword(password));
  const user = await db.transaction(async (tx) => {
    const [row] = await tx
      .update(users)
      .set({ passwordHash })
      .where(and(eq(users.id, id), eq(users.organizationId, organizationId)))
      .returning();
    if (!row) throw new UserAdminError(USER_ADMIN_ERRORS.notFound, "user not found");
    await revokeUserSessions(tx, row.id, REVOKE_REASONS.passwordChanged);
    return row;
  });
  return generated ? { user, generatedPassword: generated } : { user };
}

/** One's own password change: the current password is required. Every session is revoked. */
export async function changeOwnPassword(
  db: Database,
  user: UserRow,
  currentPassword: unknown,
  newPassword: unknown,
): Promise<UserRow> {
  const current = checkCurrentPassword(currentPassword);
  const next = checkPassword(newPassword, "new_password");
  if (!(await verifyPassword(current, user.passwordHash)))
    throw new UserAdminError(
      USER_ADMIN_ERRORS.wrongPassword,
      "current_password: is not the current password",
      "current_password",
    );
  const passwordHash = await hashPassword(next);
  return db.transaction(async (tx) => {
    const [row] = await tx.update(users).set({ passwordHash }).where(eq(users.id, user.id)).returning();
    await revokeUserSessions(tx, user.id, REVOKE_REASONS.passwordChanged);
    return row!;
  });
}

export async function countUsers(db: Database): Promise<number> {
  const [row] = await db.select({ n: count() }).from(users);
  return row?.n ?? 0;
}
