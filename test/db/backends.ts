/**
 * The database backends every repository/service/end-to-end suite runs against: embedded PGlite
 * and, when reachable, the machine's PostgreSQL with a fresh database per suite (dropped after).
 *
 * Creating a PGlite database (initdb + migrations) costs seconds of CPU, so it is done once per
 * machine and schema into a template folder under the temp dir; each suite boots a copy of it.
 */
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { type DatabaseHandle, type DatabaseOptions, MIGRATIONS_DIR, openDatabase } from "../../db/client.ts";
import { hasPostgres, TEST_POSTGRES_URL } from "../support/services.ts";

/** beforeAll budget: the first suite on a machine builds the PGlite template (slow on a busy box). */
export const SETUP_TIMEOUT_MS = 120_000;

export interface BackendInstance {
  /** Env for loadConfig: DATABASE_URL or PGLITE_DIR (plus DATA_DIR, a temp folder). */
  env: Record<string, string>;
  /** Opens a client of this database (the suite closes it); `onQuery` counts its statements. */
  open(options?: Pick<DatabaseOptions, "onQuery" | "maxConnections">): Promise<DatabaseHandle>;
  dispose(): Promise<void>;
}

export interface Backend {
  name: "pglite" | "postgres";
  /** A migrated, empty database. */
  create(): Promise<BackendInstance>;
}

function migrationsHash(): string {
  const hash = createHash("sha256");
  for (const f of readdirSync(MIGRATIONS_DIR).sort())
    if (f.endsWith(".sql")) hash.update(f).update(readFileSync(join(MIGRATIONS_DIR, f)));
  return hash.digest("hex").slice(0, 16);
}

let template: Promise<string> | undefined;
/** A migrated PGlite data folder shared by every suite of this machine (built once per schema). */
function pgliteTemplate(): Promise<string> {
  template ??= (async () => {
    const dir = join(tmpdir(), `switchboard-pglite-template-${migrationsHash()}`);
    if (existsSync(join(dir, ".ready"))) return dir;
    const building = mkdtempSync(`${dir}.building-`);
    const handle = await openDatabase({ pgliteDir: building });
    await handle.migrate();
    await handle.close();
    writeFileSync(join(building, ".ready"), "");
    try {
      renameSync(building, dir);
    } catch {
      // Another test process finished first: use its template.
      rmSync(building, { recursive: true, force: true });
    }
    return dir;
  })();
  return template;
}

const pglite: Backend = {
  name: "pglite",
  async create() {
    const dataDir = mkdtempSync(join(tmpdir(), "switchboard-test-"));
    const pgliteDir = join(dataDir, "pglite");
    cpSync(await pgliteTemplate(), pgliteDir, { recursive: true });
    return {
      env: { DATA_DIR: dataDir, PGLITE_DIR: pgliteDir },
      open: (options = {}) => openDatabase({ pgliteDir, ...options }),
      async dispose() {
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
};

const postgresBackend: Backend = {
  name: "postgres",
  async create() {
    const dataDir = mkdtempSync(join(tmpdir(), "switchboard-test-"));
    const name = `sb_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`;
    const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const url = new URL(TEST_POSTGRES_URL);
    url.pathname = `/${name}`;
    const databaseUrl = url.toString();
    const migrator = await openDatabase({ databaseUrl, maxConnections: 1 });
    await migrator.migrate();
    await migrator.close();
    return {
      env: { DATA_DIR: dataDir, DATABASE_URL: databaseUrl },
      open: (options = {}) => openDatabase({ databaseUrl, maxConnections: 5, ...options }),
      async dispose() {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end({ timeout: 5 });
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
};

/** PGlite always; PostgreSQL when `hasPostgres()` (which throws in CI when it is missing). */
export async function backends(): Promise<Backend[]> {
  return (await hasPostgres()) ? [pglite, postgresBackend] : [pglite];
}
