/**
 * Gates for suites that need a real PostgreSQL or Redis, or a program on the machine (redis-server,
 * nginx, Chromium, node).
 *
 * In CI (`CI=true`, set by .ci/run) a missing service or program is a failure, never a silent skip:
 * the suite throws at load time. On a laptop without it the suite is skipped and says so loudly.
 */
import { existsSync } from "node:fs";
import { connect } from "node:net";

export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export const inCI = process.env.CI === "true" || process.env.REQUIRE_SERVICES === "1";

function reachable(url: string, timeoutMs = 1000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

async function gate(name: string, url: string): Promise<boolean> {
  if (await reachable(url)) return true;
  const message = `${name} is not reachable at ${url}`;
  if (inCI) throw new Error(`${message}: CI requires it (set up by .ci/run)`);
  console.warn(`\n  ⚠ SKIPPING ${name} suite: ${message}. Start it or set the TEST_* URL to run it.\n`);
  return false;
}

/** True when PostgreSQL is up; throws in CI when it is not; warns and returns false elsewhere. */
export const hasPostgres = (): Promise<boolean> => gate("PostgreSQL", TEST_POSTGRES_URL);
/** True when Redis is up; throws in CI when it is not; warns and returns false elsewhere. */
export const hasRedis = (): Promise<boolean> => gate("Redis", TEST_REDIS_URL);

/** Where a program is: on the PATH, or in the sbin directories Debian installs daemons into. */
export function findBinary(name: string): string | null {
  return Bun.which(name) ?? Bun.which(name, { PATH: "/usr/sbin:/sbin:/usr/local/sbin" });
}

/**
 * The path of a program a suite needs; throws in CI when it is missing; warns and returns null
 * elsewhere. `path` checks one exact file instead of searching (Chromium's CHROMIUM_PATH).
 */
export function requireBinary(what: string, install: string, path?: string): string | null {
  const found = path === undefined ? findBinary(what) : existsSync(path) ? path : null;
  if (found) return found;
  const message = `${what} is not installed${path === undefined ? " (not on the PATH)" : ` at ${path}`}`;
  if (inCI) throw new Error(`${message}: CI requires it (${install}, done by .ci/run)`);
  console.warn(`\n  ⚠ SKIPPING ${what} suite: ${message}. Install it: ${install}.\n`);
  return null;
}

/** True when `redis-server` can be started by the suite (private Redis for fault tests). */
export const hasRedisServer = (): boolean =>
  requireBinary("redis-server", "apt-get install redis-server") !== null;
