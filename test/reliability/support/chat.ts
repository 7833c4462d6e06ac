/**
 * The whole chat server (src/app.ts `startServer`) on 127.0.0.1:0 with two organizations, so every
 * reliability case can attack one tenant and check that the other is unaffected.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { contacts, conversations, organizations, users } from "../../../db/schema.ts";
import { type RunningServer, startServer } from "../../../src/app.ts";
import type { TokenType } from "../../../src/auth/tokens.ts";
import { loadConfig } from "../../../src/config.ts";
import type { UserRole, Uuid } from "../../../src/shared/events.ts";

/** A JWT secret long enough for every mode (tests sign their own tokens with it). */
export const TEST_JWT_SECRET = "reliability-suite-secret-0123456789abcdef";
/** Key of the webhook's X-Hub-Signature-256 in these suites. */
export const TEST_APP_SECRET = "reliability-app-secret";
/** Password of every fixture user (hashed once per server). */
export const TEST_PASSWORD = "correct horse battery staple";

export interface FixtureUser {
  id: Uuid;
  email: string;
  role: UserRole;
  organizationId: Uuid;
}

export interface Tenant {
  organizationId: Uuid;
  /** WhatsApp phone number id that routes inbound webhooks to this organization. */
  phoneNumberId: string;
  admin: FixtureUser;
  agent: FixtureUser;
  viewer: FixtureUser;
  contactWhatsappId: string;
  /** A conversation nobody is assigned to: every role of the tenant may watch it. */
  conversationId: Uuid;
}

export interface ChatHarness {
  running: RunningServer;
  /** http://127.0.0.1:port */
  url: string;
  /** Organizations "a" and "b". */
  a: Tenant;
  b: Tenant;
  /** Signs a token for a fixture user with the server's key (ttlS overrides the lifetime). */
  token(user: FixtureUser, type?: TokenType, ttlS?: number): Promise<string>;
  /** Stops the server and removes its temporary directory. */
  stop(): Promise<void>;
}

export interface ChatHarnessOptions {
  /** Environment variables on top of the suite's defaults (limits, CORS_ORIGINS, …). */
  env?: Record<string, string>;
  /** postgres:// URL; default an in-memory PGlite. */
  databaseUrl?: string;
  /** PGlite directory (a restart on the same directory keeps the data). Default in memory. */
  pgliteDir?: string;
  /** Port to listen on (a restart reuses the first one). Default 0. */
  port?: number;
  /** Skip creating the two organizations (a restart on an existing database). */
  skipFixtures?: boolean;
}

/** The suite's configuration: test mode, no demo seed, fast sandbox ticks, a known webhook key. */
export function harnessEnv(options: ChatHarnessOptions, dataDir: string): Record<string, string> {
  return {
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    PORT: String(options.port ?? 0),
    DATA_DIR: dataDir,
    PGLITE_DIR: options.pgliteDir ?? "memory://",
    JWT_SECRET: TEST_JWT_SECRET,
    SEED_DEMO: "false",
    SANDBOX_STEP_MS: "20",
    WHATSAPP_APP_SECRET: TEST_APP_SECRET,
    WHATSAPP_VERIFY_TOKEN: "reliability-verify",
    LOG_LEVEL: "error",
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  };
}

async function createTenant(running: RunningServer, name: string, passwordHash: string): Promise<Tenant> {
  const db = running.ctx.database.db;
  const suffix = `${name}-${crypto.randomUUID().slice(0, 8)}`;
  const phoneNumberId = `phone-${suffix}`;
  const [org] = await db
    .insert(organizations)
    .values({ name: `Org ${suffix}`, whatsappPhoneNumberId: phoneNumberId })
    .returning();
  const organizationId = org!.id;
  const mk = async (role: UserRole): Promise<FixtureUser> => {
    const email = `${role}-${suffix}@reliability.test`;
    const [u] = await db
      .insert(users)
      .values({ organizationId, email, name: `${role} ${suffix}`, passwordHash, role })
      .returning();
    return { id: u!.id, email, role, organizationId };
  };
  const admin = await mk("org_admin");
  const agent = await mk("agent");
  const viewer = await mk("viewer");
  const contactWhatsappId = `1555${Math.floor(Math.random() * 1e7)
    .toString()
    .padStart(7, "0")}`;
  const [contact] = await db
    .insert(contacts)
    .values({ organizationId, whatsappId: contactWhatsappId, name: `Contact ${suffix}` })
    .returning();
  const [conversation] = await db
    .insert(conversations)
    .values({ organizationId, contactId: contact!.id, status: "queued" })
    .returning();
  return {
    organizationId,
    phoneNumberId,
    admin,
    agent,
    viewer,
    contactWhatsappId,
    conversationId: conversation!.id,
  };
}

/** Starts the chat server with two fresh organizations. */
export async function startChat(options: ChatHarnessOptions = {}): Promise<ChatHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), "switchboard-reliability-"));
  const config = loadConfig(harnessEnv(options, dataDir));
  const running = await startServer(config, { buildWebUi: false });
  let a: Tenant;
  let b: Tenant;
  try {
    const passwordHash = await Bun.password.hash(TEST_PASSWORD, { algorithm: "bcrypt", cost: 4 });
    if (options.skipFixtures) {
      a = undefined as unknown as Tenant;
      b = undefined as unknown as Tenant;
    } else {
      a = await createTenant(running, "a", passwordHash);
      b = await createTenant(running, "b", passwordHash);
    }
  } catch (err) {
    await running.stop();
    throw err;
  }
  return {
    running,
    url: running.url,
    a,
    b,
    token: (user, type = "access", ttlS) =>
      running.ctx.tokens.sign(
        { id: user.id, organization_id: user.organizationId, role: user.role },
        type,
        ttlS,
      ),
    async stop() {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
