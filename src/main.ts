/**
 * `bun run start`: configuration → database + migrations → demo seed → one port serving the
 * REST API, the web UI and /socket.io/. SIGTERM/SIGINT stop it gracefully.
 */
import { createLogger } from "../protocol/logger.ts";
import { startServer } from "./app.ts";
import { parseWorkersFlag, superviseWorkers } from "./cluster/workers.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { DEMO_ADMIN_EMAIL, DEMO_AGENT_EMAIL } from "./seed.ts";
import { countUsers } from "./services/user-admin.ts";

const log = createLogger("main");

// `--workers N`: this process only supervises N workers (each runs this file without the flag).
let workers: number | null = null;
try {
  workers = parseWorkersFlag(process.argv);
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
if (workers !== null) await superviseWorkers(workers);

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}

const running = await startServer(config);

// Installed before anything is printed: a supervisor may signal as soon as it sees the banner.
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    log.info("shutting down", { signal });
    const force = setTimeout(() => {
      log.error("graceful shutdown timed out: exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    running.stop().then(
      () => {
        clearTimeout(force);
        process.exit(0);
      },
      (err) => {
        log.error("shutdown failed", { error: err });
        process.exit(1);
      },
    );
  });
}

// The banner is written in one piece (an operator's or a test's reader never sees half of it).
const lines: string[] = [
  "",
  `  Switchboard is running on ${running.url}  (${config.nodeEnv}, ${running.ctx.database.kind})`,
  `  Web UI:    ${running.url}/`,
  `  Socket.IO: ${running.url}/socket.io/`,
];
if (running.seeded) {
  const { seeded } = running;
  const token = await running.ctx.tokens.sign(
    { id: seeded.admin.id, organization_id: seeded.organizationId, role: seeded.admin.role },
    "access",
  );
  const generated = seeded.passwordGenerated ? "   (generated; set DEMO_PASSWORD to choose one)" : "";
  lines.push(
    "",
    "  Demo data seeded (first start on an empty database):",
    `    admin:  ${DEMO_ADMIN_EMAIL}`,
    `    agent:  ${DEMO_AGENT_EMAIL}`,
    `    password: ${seeded.password}${generated}`,
    `    conversation: ${seeded.conversationId}`,
    "",
    `  Log in:  curl -s -X POST ${running.url}/api/v1/auth/login -H 'content-type: application/json' \\`,
    `             -d '{"email":"${DEMO_ADMIN_EMAIL}","password":"${seeded.password}"}'`,
    `  Access token for ${DEMO_ADMIN_EMAIL} (valid ${config.accessTokenTtlS} s):`,
    `    ${token}`,
  );
} else if ((await countUsers(running.ctx.database.db)) === 0) {
  // An empty production database: nothing can log in until someone makes the first admin.
  const where =
    running.ctx.database.kind === "pglite"
      ? " (stop the server first: the CLI opens the same PGlite directory)"
      : "";
  lines.push(
    "",
    `  No users yet. Create the first organization and its admin with the CLI${where}:`,
    '    bun run users -- create-org "Your Company"',
    '    bun run users -- create --org "Your Company" --email you@example.com --name "Your Name" --role org_admin',
    "  (the password is asked for, or generated and printed once); then log in at the web UI.",
    "  More: docs/administration.md",
  );
} else {
  lines.push("  Log in with your users (POST /api/v1/auth/login); `bun run users -- --help` manages them.");
}
process.stdout.write(`${lines.join("\n")}\n\n`);
