/**
 * Gates for suites that need a real PostgreSQL or Redis.
 *
 * In CI (`CI=true`, set by .ci/run) a missing service is a failure, never a silent skip: the suite
 * throws at load time. On a laptop without the service the suite is skipped and says so loudly.
 */
import { connect } from "node:net";

export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

const inCI = process.env.CI === "true" || process.env.REQUIRE_SERVICES === "1";

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
