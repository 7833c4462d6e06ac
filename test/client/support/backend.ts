/**
 * Starts the real Switchboard server (src/app.ts) for end-to-end tests: port 0 on 127.0.0.1,
 * embedded PGlite in a fresh temp dir, the sandbox channel with short steps, the web UI built
 * into the temp dir, demo data seeded with a known password.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { users } from "../../../db/schema.ts";
import { type RunningServer, startServer } from "../../../src/app.ts";
import { hashPassword } from "../../../src/auth/password.ts";
import { loadConfig } from "../../../src/config.ts";
import { DEMO_ADMIN_EMAIL, DEMO_AGENT_EMAIL } from "../../../src/seed.ts";
import type { UserRole } from "../../../src/shared/events.ts";

export const DEMO_PASSWORD = "browser-test-password";
export { DEMO_ADMIN_EMAIL, DEMO_AGENT_EMAIL };

export interface Backend {
  url: string;
  running: RunningServer;
  /** The seeded demo conversation (assigned to the demo agent, visible to the admin). */
  conversationId: string;
  /** Adds a user to the demo organization (password DEMO_PASSWORD); answers its id. */
  addUser(email: string, name: string, role: UserRole): Promise<string>;
  stop(): Promise<void>;
}

export interface BackendOptions {
  /** Extra environment for `loadConfig` (e.g. ACCESS_TOKEN_TTL). */
  env?: Record<string, string>;
  /** Bundle the web UI (in memory). Default false (only the browser test needs it). */
  webUi?: boolean;
}

export async function startBackend(options: BackendOptions = {}): Promise<Backend> {
  const dir = await mkdtemp(join(tmpdir(), "switchboard-e2e-"));
  const config = loadConfig({
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    PORT: "0",
    DATA_DIR: dir,
    PGLITE_DIR: "memory://",
    JWT_SECRET: crypto.randomUUID() + crypto.randomUUID(),
    DEMO_PASSWORD,
    SANDBOX_STEP_MS: "250",
    LOG_LEVEL: "warn",
    ...options.env,
  });
  let running: RunningServer;
  try {
    running = await startServer(config, { buildWebUi: options.webUi ?? false });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const conversationId = running.seeded?.conversationId;
  if (!conversationId) throw new Error("the demo seed did not run");
  return {
    url: running.url,
    running,
    conversationId,
    addUser: async (email, name, role) => {
      const [row] = await running.ctx.database.db
        .insert(users)
        .values({
          organizationId: running.seeded!.organizationId,
          email,
          name,
          role,
          passwordHash: await hashPassword(DEMO_PASSWORD),
        })
        .returning({ id: users.id });
      return row!.id;
    },
    stop: async () => {
      await running.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
