/** The demo seed on each backend: only into an empty database, with working credentials. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { count } from "drizzle-orm";
import type { DatabaseHandle } from "../../db/client.ts";
import { conversations, messages, users } from "../../db/schema.ts";
import { verifyPassword } from "../../src/auth/password.ts";
import { DEMO_ADMIN_EMAIL, DEMO_AGENT_EMAIL, seedIfEmpty } from "../../src/seed.ts";
import { findUserByEmail } from "../../src/services/users.ts";
import { type BackendInstance, backends, SETUP_TIMEOUT_MS } from "./backends.ts";

for (const backend of await backends()) {
  describe(`demo seed on ${backend.name}`, () => {
    let instance: BackendInstance;
    let handle: DatabaseHandle;
    beforeAll(async () => {
      instance = await backend.create();
      handle = await instance.open();
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => {
      await handle?.close();
      await instance?.dispose();
    }, SETUP_TIMEOUT_MS);

    test("an empty database gets an organization, an admin, an agent and a conversation with a first message", async () => {
      const seeded = await seedIfEmpty(handle.db, {
        password: "demo-pass-123",
        whatsappPhoneNumberId: "pn-demo",
      });
      expect(seeded).not.toBeNull();
      expect(seeded!.passwordGenerated).toBe(false);
      const admin = await findUserByEmail(handle.db, DEMO_ADMIN_EMAIL);
      const agent = await findUserByEmail(handle.db, DEMO_AGENT_EMAIL);
      expect(admin?.role).toBe("org_admin");
      expect(agent?.role).toBe("agent");
      expect(await verifyPassword("demo-pass-123", admin!.passwordHash)).toBe(true);
      const [conv] = await handle.db.select().from(conversations);
      expect(conv).toMatchObject({ assignedAgentId: agent!.id, lastSeq: 1 });
      expect((await handle.db.select({ n: count() }).from(messages))[0]!.n).toBe(1);
    });

    test("a database with data is never seeded again", async () => {
      expect(await seedIfEmpty(handle.db, { whatsappPhoneNumberId: "pn-demo" })).toBeNull();
      expect((await handle.db.select({ n: count() }).from(users))[0]!.n).toBe(2);
    });

    test(
      "without DEMO_PASSWORD a password is generated and reported",
      async () => {
        const fresh = await backend.create();
        const db = await fresh.open();
        try {
          const seeded = await seedIfEmpty(db.db, { whatsappPhoneNumberId: "pn-demo" });
          expect(seeded!.passwordGenerated).toBe(true);
          expect(seeded!.password.length).toBeGreaterThanOrEqual(12);
        } finally {
          await db.close();
          await fresh.dispose();
        }
      },
      SETUP_TIMEOUT_MS,
    );
  });
}
