/**
 * Prints an access token for a user, signed with the server's configuration (JWT_SECRET, or the
 * development secret under DATA_DIR): `bun scripts/token.ts [email] [--ttl 3600] [--refresh]`.
 * Default user: admin@demo.local. Handy for curl and the load benchmark. An access token printed
 * here belongs to no login session (it ends only at its expiry); `--refresh` opens a real session
 * (src/auth/sessions.ts) and prints its refresh token, which the server rotates like any other.
 */
import { resolveJwtSecret } from "../src/auth/secret.ts";
import { SessionStore } from "../src/auth/sessions.ts";
import { TokenService } from "../src/auth/tokens.ts";
import { loadConfig, parseDurationSeconds } from "../src/config.ts";
import { DEMO_ADMIN_EMAIL } from "../src/seed.ts";
import { findUserByEmail } from "../src/services/users.ts";
import { openDatabaseOrExit } from "../src/startup/open-database.ts";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const [, value] = args.splice(i, 2);
  return value;
};
const refresh = args.includes("--refresh");
if (refresh) args.splice(args.indexOf("--refresh"), 1);
const ttlArg = flag("--ttl");
const ttl = ttlArg ? parseDurationSeconds(ttlArg) : undefined;
if (ttlArg && ttl === undefined) {
  console.error(`--ttl must be a duration like 900, 15m or 1h (got "${ttlArg}")`);
  process.exit(2);
}
const email = args[0] ?? DEMO_ADMIN_EMAIL;

const config = loadConfig();
const database = await openDatabaseOrExit(config, "token");
try {
  const user = await findUserByEmail(database.db, email);
  if (!user) {
    console.error(`no user ${email} in this database`);
    process.exitCode = 1;
  } else {
    const tokens = new TokenService({
      secret: resolveJwtSecret(config),
      algorithm: config.jwtAlgorithm,
      accessTtlS: config.accessTokenTtlS,
      refreshTtlS: config.refreshTokenTtlS,
    });
    const subject = { id: user.id, organization_id: user.organizationId, role: user.role };
    if (refresh) console.log((await new SessionStore(database.db, tokens).start(user)).refresh_token);
    else console.log(await tokens.sign(subject, "access", ttl));
  }
} finally {
  await database.close();
}
