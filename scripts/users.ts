/**
 * `bun run users -- <command>`: user administration on the configured database (DATABASE_URL, or the
 * embedded PGlite under DATA_DIR / PGLITE_DIR), the same rules as the REST API
 * (src/services/user-admin.ts). It is how the first admin of an empty production database is made.
 *
 * Exit codes: 0 done, 1 refused or failed (one line on stderr), 2 bad usage.
 */
import { parseArgs } from "node:util";
import type { Database } from "../db/client.ts";
import { openDatabase } from "../db/client.ts";
import type { OrganizationRow, UserRow } from "../db/schema.ts";
import { generatePassword } from "../src/auth/password.ts";
import { ConfigError, loadConfig } from "../src/config.ts";
import {
  checkPassword,
  createOrganization,
  createUser,
  findOrganization,
  getUserByEmail,
  listOrganizations,
  listUsers,
  parseRole,
  resetPassword,
  toManagedUser,
  UserAdminError,
  updateUser,
} from "../src/services/user-admin.ts";

export const USAGE = `Usage: bun run users -- <command> [options]

Commands:
  create-org <name> [--whatsapp-phone-number-id <id>]
                          Create an organization; prints its id.
  list-orgs               List organizations.
  create --email <email> --name <name> --role <org_admin|agent|viewer> --org <id or name>
                          Create a user. The password is asked for on a terminal; otherwise
                          (or with --generate-password) one is generated and printed once.
                          --password-stdin reads it from standard input instead.
  list [--org <id or name>] [--json]
                          List users (of one organization, or of all).
  set-role <email> <org_admin|agent|viewer>
  deactivate <email>      The user can no longer log in; their sessions are revoked.
  activate <email>
  reset-password <email> [--generate-password | --password-stdin]
                          Set a new password (asked for, or generated and printed once);
                          every session of the user is revoked.

Options:
  -h, --help              Show this help.

Configuration comes from the environment, as for the server: DATABASE_URL (PostgreSQL), or
the embedded database under DATA_DIR (default ./data) / PGLITE_DIR. The last active org_admin
of an organization cannot be demoted or deactivated. Changes made here reach running servers
at the user's next request or token refresh; use the REST API (or the admin page) to also
close a user's live connections at once.
`;

class UsageError extends Error {}

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  email: { type: "string" },
  name: { type: "string" },
  role: { type: "string" },
  org: { type: "string" },
  json: { type: "boolean" },
  "password-stdin": { type: "boolean" },
  "generate-password": { type: "boolean" },
  "whatsapp-phone-number-id": { type: "string" },
} as const;

type Flags = ReturnType<typeof parse>["values"];

function parse(argv: string[]) {
  // `bun run users -- create …` may hand the separator through.
  const args = argv[0] === "--" ? argv.slice(1) : argv;
  try {
    return parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const out = (line: string) => process.stdout.write(`${line}\n`);

function required(flags: Flags, name: "email" | "name" | "role" | "org"): string {
  const value = flags[name];
  if (value === undefined || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

function positional(args: string[], index: number, what: string): string {
  const value = args[index];
  if (value === undefined || value === "") throw new UsageError(`missing ${what}`);
  return value;
}

/** Reads a password without echoing it (raw mode), ending at Enter. */
async function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  // Echo goes off before the prompt shows, so an answer typed the instant it appears is never echoed.
  stdin.setRawMode(true);
  process.stderr.write(question);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = "";
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString("utf8")) {
          if (ch === "\r" || ch === "\n") {
            stdin.off("data", onData);
            process.stderr.write("\n");
            resolve(value);
            return;
          }
          if (ch === "\u0003") {
            stdin.off("data", onData);
            process.stderr.write("\n");
            reject(new UsageError("cancelled"));
            return;
          }
          if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

async function readStdin(): Promise<string> {
  const text = await new Response(Bun.stdin.stream()).text();
  return text.replace(/\r?\n$/, "");
}

/** The new password: from stdin, typed twice on a terminal, or generated (then printed once). */
async function choosePassword(flags: Flags): Promise<{ password: string; generated: boolean }> {
  if (flags["password-stdin"] && flags["generate-password"])
    throw new UsageError("--password-stdin and --generate-password exclude each other");
  if (flags["password-stdin"]) return { password: checkPassword(await readStdin()), generated: false };
  if (flags["generate-password"] || !process.stdin.isTTY)
    return { password: generatePassword(), generated: true };
  const first = checkPassword(await promptHidden("Password: "));
  if ((await promptHidden("Repeat password: ")) !== first) throw new UsageError("the passwords differ");
  return { password: first, generated: false };
}

function showPassword(password: string): void {
  out(`password: ${password}`);
  out("(generated: shown once, never stored in clear; give it to the user over a safe channel)");
}

function describeUser(user: UserRow): string {
  return `${user.email}  ${user.name}  ${user.role}  ${user.active ? "active" : "deactivated"}  ${user.id}`;
}

async function list(db: Database, flags: Flags): Promise<void> {
  const orgs: OrganizationRow[] = flags.org
    ? [await findOrganization(db, flags.org)]
    : await listOrganizations(db);
  const rows: { org: OrganizationRow; user: UserRow }[] = [];
  for (const org of orgs) for (const user of await listUsers(db, org.id)) rows.push({ org, user });
  if (flags.json) {
    out(
      JSON.stringify(rows.map(({ org, user }) => ({ ...toManagedUser(user), organization_name: org.name }))),
    );
    return;
  }
  if (rows.length === 0) {
    out("no users");
    return;
  }
  const table = [["EMAIL", "NAME", "ROLE", "STATUS", "ORGANIZATION", "ID"]];
  for (const { org, user } of rows)
    table.push([user.email, user.name, user.role, user.active ? "active" : "deactivated", org.name, user.id]);
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const row of table)
    out(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    );
}

async function run(db: Database, command: string, args: string[], flags: Flags): Promise<void> {
  switch (command) {
    case "create-org": {
      const org = await createOrganization(db, {
        name: positional(args, 0, "organization name"),
        whatsappPhoneNumberId: flags["whatsapp-phone-number-id"],
      });
      out(`organization created: ${org.name}  ${org.id}`);
      out(`next: bun run users -- create --org ${org.id} --email <email> --name <name> --role org_admin`);
      return;
    }
    case "list-orgs": {
      const orgs = await listOrganizations(db);
      if (orgs.length === 0) out("no organizations");
      for (const org of orgs) out(`${org.id}  ${org.name}`);
      return;
    }
    case "create": {
      const org = await findOrganization(db, required(flags, "org"));
      // Validate what can be validated before asking for a password.
      const role = parseRole(required(flags, "role"));
      const email = required(flags, "email");
      const name = required(flags, "name");
      const { password, generated } = await choosePassword(flags);
      const { user } = await createUser(db, org.id, { email, name, role, password });
      out(`user created: ${describeUser(user)}  (organization ${org.name})`);
      if (generated) showPassword(password);
      return;
    }
    case "list":
      return list(db, flags);
    case "set-role": {
      const user = await getUserByEmail(db, positional(args, 0, "email"));
      const role = parseRole(positional(args, 1, "role"));
      const { user: updated } = await updateUser(db, user.organizationId, user.id, { role });
      out(`role set: ${describeUser(updated)}`);
      return;
    }
    case "deactivate":
    case "activate": {
      const user = await getUserByEmail(db, positional(args, 0, "email"));
      const { user: updated } = await updateUser(db, user.organizationId, user.id, {
        active: command === "activate",
      });
      out(`${command}d: ${describeUser(updated)}`);
      return;
    }
    case "reset-password": {
      const user = await getUserByEmail(db, positional(args, 0, "email"));
      const { password, generated } = await choosePassword(flags);
      await resetPassword(db, user.organizationId, user.id, password);
      out(`password reset: ${user.email} (every session of the user is revoked)`);
      if (generated) showPassword(password);
      return;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** One line, whatever the error: the first line of its message, with the code of a refusal. */
function oneLine(err: unknown): string {
  const message = (err instanceof Error ? err.message : String(err)).split("\n")[0]!.trim();
  return err instanceof UserAdminError ? `${message} (${err.code})` : message;
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`users: ${oneLine(err)}\nRun \`bun run users -- --help\` for usage.\n`);
    return 2;
  }
  const [command, ...args] = parsed.positionals;
  if (parsed.values.help || command === undefined || command === "help") {
    process.stdout.write(USAGE);
    return command === undefined && !parsed.values.help ? 2 : 0;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(
      `users: error: ${err instanceof ConfigError ? err.problems.join("; ") : oneLine(err)}\n`,
    );
    return 1;
  }
  let database: Awaited<ReturnType<typeof openDatabase>> | undefined;
  try {
    database = await openDatabase({
      databaseUrl: config.databaseUrl,
      pgliteDir: config.pgliteDir,
      maxConnections: 2,
    });
    await database.migrate();
    await run(database.db, command, args, parsed.values);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`users: ${err.message}\nRun \`bun run users -- --help\` for usage.\n`);
      return 2;
    }
    process.stderr.write(`users: error: ${oneLine(err)}\n`);
    return 1;
  } finally {
    await database?.close().catch(() => {});
  }
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
