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
import { describeStartupError } from "./startup/errors.ts";
import { assertPortFree, portInUse } from "./startup/port.ts";

const log = createLogger("main");

// A fault in a timer or a callback nothing awaits (a driver's socket callback after the database
// cut a connection, a throwing user hook outside a request) is logged and the server keeps serving:
// every request path already answers its own errors, so one stray callback must not end them all.
process.on("uncaughtException", (err) =>
  log.error("uncaught exception (the server keeps running)", { error: err }),
);
process.on("unhandledRejection", (reason) =>
  log.error("unhandled promise rejection (the server keeps running)", { error: reason }),
);

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

/** Prints what went wrong as one line with the fix (a stack only for what is not an operator's to fix). */
function exitStartupFailure(err: unknown): never {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const line =
    code === "EADDRINUSE"
      ? portInUse(config.host, config.port).message
      : describeStartupError(err, config.databaseUrl);
  if (line !== null) console.error(`switchboard: ${line}`);
  else console.error("switchboard: start-up failed:", err);
  process.exit(1);
}

let running: Awaited<ReturnType<typeof startServer>>;
try {
  // The port first (a supervisor's workers share it on purpose), then the database (its lock first).
  if (!config.reusePort) {
    await assertPortFree(config.host, config.port);
    if (config.metricsPort !== undefined)
      await assertPortFree(config.metricsHost, config.metricsPort, "METRICS_PORT");
  }
  running = await startServer(config);
} catch (err) {
  exitStartupFailure(err);
}

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

/** How to get back to a fresh demo: the embedded database is a folder, PostgreSQL a database. */
function startOver(): string {
  if (running.ctx.database.kind === "pglite")
    return `to start over, stop the server and delete ${config.pgliteDir}`;
  return "to start over, drop and re-create the database of DATABASE_URL";
}

// The banner is written in one piece (an operator's or a test's reader never sees half of it).
const lines: string[] = [
  "",
  `  Switchboard is running on ${running.url}  (${config.nodeEnv}, ${running.ctx.database.kind})`,
  running.webUi.kind === "none"
    ? `  Web UI:    not served (${running.webUi.reason})`
    : `  Web UI:    ${running.url}/`,
  `  Socket.IO: ${running.url}/socket.io/`,
  `  Metrics:   ${running.metricsUrl ?? `${running.url}/metrics`}${config.metricsToken ? "  (bearer token: METRICS_TOKEN)" : ""}`,
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
    `  Demo data seeded (first start on an empty database; ${startOver()}):`,
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
} else if (running.demo) {
  const { demo } = running;
  lines.push(
    "",
    `  Demo data from an earlier start (${startOver()}):`,
    ...demo.emails.map((email) => `    ${email === DEMO_ADMIN_EMAIL ? "admin" : "agent"}:  ${email}`),
    demo.passwordFromEnv
      ? `    password: ${config.demoPassword}   (DEMO_PASSWORD, applied to the demo users at this start)`
      : "    password: the one printed at the first start; to set another, restart with DEMO_PASSWORD=<password>",
    "  `bun scripts/token.ts <email>` prints an access token (while the server is stopped, for the embedded database).",
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
