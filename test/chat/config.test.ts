/** Configuration: defaults, validation messages, and the refusals that protect production. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveJwtSecret } from "../../src/auth/secret.ts";
import { ConfigError, loadConfig, parseDurationSeconds } from "../../src/config.ts";
import { originAllowed } from "../../src/realtime/server.ts";

const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

describe("configuration", () => {
  test("no environment at all is a valid development configuration with documented defaults", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      nodeEnv: "development",
      port: 8000,
      host: "127.0.0.1",
      jwtAlgorithm: "HS256",
      accessTokenTtlS: 900,
      refreshTokenTtlS: 604800,
      seedDemo: true,
      maxConnectionsPerUser: 3,
      rateLimitPerSecond: 10,
      rateLimitBurst: 20,
      typingTimeoutMs: 6000,
      channel: "sandbox",
      corsOrigins: [],
      databaseUrl: undefined,
    });
    expect(c.pgliteDir).toEndWith(join("data", "pglite"));
  });

  test("SEED_DEMO defaults to false in production and true elsewhere; an explicit value wins", () => {
    const secret = "x".repeat(32);
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: secret }).seedDemo).toBe(false);
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: secret, SEED_DEMO: "true" }).seedDemo).toBe(true);
    expect(loadConfig({ NODE_ENV: "development" }).seedDemo).toBe(true);
    expect(loadConfig({ NODE_ENV: "test", SEED_DEMO: "false" }).seedDemo).toBe(false);
  });

  test("production refuses a missing or weak JWT_SECRET", () => {
    expect(problems({ NODE_ENV: "production" })).toContain("JWT_SECRET is required in production");
    expect(problems({ NODE_ENV: "production", JWT_SECRET: "short" })[0]).toContain("at least 32 characters");
    expect(problems({ NODE_ENV: "production", JWT_SECRET: "x".repeat(32) })).toEqual([]);
  });

  test("CORS_ORIGINS refuses '*' (credentials are allowed) and non-origins", () => {
    expect(problems({ CORS_ORIGINS: "*" })[0]).toContain("'*' is refused");
    expect(problems({ CORS_ORIGINS: "https://a.example/path" })[0]).toContain("must be an origin");
    expect(loadConfig({ CORS_ORIGINS: "https://a.example, http://localhost:5173/" }).corsOrigins).toEqual([
      "https://a.example",
      "http://localhost:5173",
    ]);
  });

  test("every bad value is reported at once, naming the variable", () => {
    const found = problems({
      PORT: "http",
      JWT_ALGORITHM: "RS256",
      ACCESS_TOKEN_TTL: "soon",
      SEED_DEMO: "maybe",
      DATABASE_URL: "mysql://x",
    });
    expect(found).toHaveLength(5);
    for (const name of ["PORT", "JWT_ALGORITHM", "ACCESS_TOKEN_TTL", "SEED_DEMO", "DATABASE_URL"])
      expect(found.some((p) => p.startsWith(name))).toBe(true);
  });

  test("CHANNEL=whatsapp needs WHATSAPP_ACCESS_TOKEN", () => {
    expect(problems({ CHANNEL: "whatsapp" })[0]).toContain("WHATSAPP_ACCESS_TOKEN");
  });

  test("durations accept seconds and s/m/h/d units", () => {
    expect(parseDurationSeconds("900")).toBe(900);
    expect(parseDurationSeconds("15m")).toBe(900);
    expect(parseDurationSeconds("7d")).toBe(604800);
    expect(parseDurationSeconds("0")).toBeUndefined();
    expect(parseDurationSeconds("-5")).toBeUndefined();
  });

  test("without JWT_SECRET in development a secret is generated once and persisted", () => {
    const dir = mkdtempSync(join(tmpdir(), "switchboard-secret-"));
    try {
      const first = resolveJwtSecret({ jwtSecret: undefined, dataDir: dir, nodeEnv: "development" });
      expect(first.length).toBeGreaterThanOrEqual(32);
      expect(readFileSync(join(dir, "jwt-secret"), "utf8").trim()).toBe(first);
      expect(resolveJwtSecret({ jwtSecret: undefined, dataDir: dir, nodeEnv: "development" })).toBe(first);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("socket handshakes are allowed from listed origins and the server's own origin only", () => {
    const listed = new Set(["https://app.example"]);
    expect(originAllowed("https://app.example", "chat.example", listed)).toBe(true);
    expect(originAllowed("https://chat.example", "chat.example", listed)).toBe(true);
    expect(originAllowed("https://evil.example", "chat.example", listed)).toBe(false);
    expect(originAllowed(null, "chat.example", listed)).toBe(true);
  });
});
