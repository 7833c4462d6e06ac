/**
 * Seeds the demo organization into the configured database if it is empty (what `bun run start`
 * does on first start), and prints the logins: `bun scripts/seed.ts`. DEMO_PASSWORD picks the password.
 */
import { loadConfig } from "../src/config.ts";
import { DEMO_ADMIN_EMAIL, DEMO_AGENT_EMAIL, seedIfEmpty } from "../src/seed.ts";
import { openDatabaseOrExit } from "../src/startup/open-database.ts";

const config = loadConfig();
const database = await openDatabaseOrExit(config, "seed");
try {
  const seeded = await seedIfEmpty(database.db, {
    password: config.demoPassword,
    whatsappPhoneNumberId: config.whatsappPhoneNumberId,
  });
  if (!seeded) {
    console.log("the database already has data: nothing seeded");
  } else {
    console.log(`seeded the demo organization ${seeded.organizationId}`);
    console.log(`  ${DEMO_ADMIN_EMAIL} / ${DEMO_AGENT_EMAIL}, password: ${seeded.password}`);
    console.log(`  conversation: ${seeded.conversationId}`);
  }
} finally {
  await database.close();
}
