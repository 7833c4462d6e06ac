/**
 * Demo data for a fresh install: one organization, an admin and an agent, a contact and a
 * conversation with a first inbound message. Runs only on an empty database (no organization yet).
 */
import { eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { contacts, conversations, organizations, users } from "../db/schema.ts";
import { generatePassword, hashPassword, verifyPassword } from "./auth/password.ts";
import { insertMessage } from "./services/messages.ts";
import type { UserRole, Uuid } from "./shared/events.ts";

export const DEMO_ADMIN_EMAIL = "admin@demo.local";
export const DEMO_AGENT_EMAIL = "agent@demo.local";
export const DEMO_CONTACT_WHATSAPP_ID = "15550001234";

export interface SeedOptions {
  /** Password of both demo users. Default: generated (and reported back). */
  password?: string | undefined;
  /** Routes inbound webhooks to the demo organization. */
  whatsappPhoneNumberId: string;
}

export interface SeedResult {
  organizationId: Uuid;
  password: string;
  /** True when the password was generated (so it must be shown to the operator). */
  passwordGenerated: boolean;
  admin: { id: Uuid; email: string; role: UserRole };
  agent: { id: Uuid; email: string; role: UserRole };
  conversationId: Uuid;
}

/** Seeds the demo organization if the database has no organization yet; returns null otherwise. */
export async function seedIfEmpty(db: Database, options: SeedOptions): Promise<SeedResult | null> {
  const password = options.password ?? generatePassword();
  const passwordHash = await hashPassword(password);
  return db.transaction(async (tx) => {
    // Two processes starting together on one empty database must not both seed.
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${0x5b_0a_5e_ed})`);
    const [existing] = await tx.select({ id: organizations.id }).from(organizations).limit(1);
    if (existing) return null;
    const [org] = await tx
      .insert(organizations)
      .values({ name: "Demo Organization", whatsappPhoneNumberId: options.whatsappPhoneNumberId })
      .returning();
    const [admin, agent] = await tx
      .insert(users)
      .values([
        {
          organizationId: org!.id,
          email: DEMO_ADMIN_EMAIL,
          name: "Demo Admin",
          passwordHash,
          role: "org_admin",
        },
        { organizationId: org!.id, email: DEMO_AGENT_EMAIL, name: "Demo Agent", passwordHash, role: "agent" },
      ])
      .returning();
    const [contact] = await tx
      .insert(contacts)
      .values({ organizationId: org!.id, whatsappId: DEMO_CONTACT_WHATSAPP_ID, name: "Demo Customer" })
      .returning();
    const [conversation] = await tx
      .insert(conversations)
      .values({
        organizationId: org!.id,
        contactId: contact!.id,
        assignedAgentId: agent!.id,
        status: "open",
      })
      .returning();
    await insertMessage(tx, {
      conversationId: conversation!.id,
      organizationId: org!.id,
      direction: "inbound",
      senderType: "contact",
      messageType: "text",
      content: { text: "Hello! I have a question about my order." },
      status: "delivered",
    });
    return {
      organizationId: org!.id,
      password,
      passwordGenerated: options.password === undefined,
      admin: { id: admin!.id, email: admin!.email, role: admin!.role },
      agent: { id: agent!.id, email: agent!.email, role: agent!.role },
      conversationId: conversation!.id,
    };
  });
}

export interface DemoLogin {
  /** The demo users still in the database. */
  emails: string[];
  /** True when DEMO_PASSWORD was given: it is now the password of every demo user. */
  passwordFromEnv: boolean;
}

/**
 * On a start that did not seed (the demo data is from an earlier start): the demo users still
 * present, and DEMO_PASSWORD applied to them when it is set, so a new DEMO_PASSWORD works at once
 * instead of being ignored. Null when no demo user is left.
 */
export async function refreshDemoLogin(
  db: Database,
  password: string | undefined,
): Promise<DemoLogin | null> {
  const found = await db
    .select({ id: users.id, email: users.email, passwordHash: users.passwordHash })
    .from(users)
    .where(inArray(users.email, [DEMO_ADMIN_EMAIL, DEMO_AGENT_EMAIL]));
  if (found.length === 0) return null;
  if (password !== undefined) {
    for (const user of found) {
      if (await verifyPassword(password, user.passwordHash)) continue;
      await db
        .update(users)
        .set({ passwordHash: await hashPassword(password) })
        .where(eq(users.id, user.id));
    }
  }
  return {
    emails: [DEMO_ADMIN_EMAIL, DEMO_AGENT_EMAIL].filter((email) => found.some((u) => u.email === email)),
    passwordFromEnv: password !== undefined,
  };
}
