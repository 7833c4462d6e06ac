/**
 * Every environment variable of the chat server: typed, validated, with its default in one place.
 * `loadConfig()` never reads anything but the env object it is given, so tests pass their own.
 * A bad value fails start-up with one message listing every problem.
 */
import { resolve } from "node:path";
import { type ClusterConfig, parseClusterConfig } from "./cluster/config.ts";
import { isValidNodeId } from "./cluster/node-id.ts";

export type NodeEnv = "development" | "test" | "production";
export type JwtAlgorithm = "HS256" | "HS384" | "HS512";
export type ChannelKind = "sandbox" | "whatsapp";

/** The durable outbox's worker (src/outbox); docs/delivery.md explains each setting. */
export interface OutboxSettings {
  /** OUTBOX_POLL_MS: how often a node looks for due jobs (a local send wakes it at once). Default 1000. */
  pollMs: number;
  /** OUTBOX_CONCURRENCY: jobs one node works on at the same time. Default 8. */
  concurrency: number;
  /**
   * OUTBOX_LEASE_MS: how long a claimed job stays with its node; after that another node takes it
   * over (a crashed node's work resumes). At least twice WHATSAPP_SEND_TIMEOUT_MS. Default 30000.
   */
  leaseMs: number;
  /** OUTBOX_RETRY_BASE_MS: first retry delay; doubles per attempt, with jitter. Default 1000. */
  retryBaseMs: number;
  /** OUTBOX_RETRY_MAX_MS: cap of the retry delay. Default 30000. */
  retryMaxMs: number;
  /** OUTBOX_RETRY_BUDGET (seconds, or "6h"): how long retryable failures are retried. Default 6 hours. */
  retryBudgetMs: number;
}

export interface Config {
  /** NODE_ENV. Default "development" so `bun run start` works with no setup. */
  nodeEnv: NodeEnv;
  /** HOST. Default 127.0.0.1 in development/test, 0.0.0.0 in production. */
  host: string;
  /** PORT. Default 8000; 0 picks a free port (tests). */
  port: number;
  /** DATA_DIR: where the embedded database and the generated dev secret live. Default ./data. */
  dataDir: string;
  /** DATABASE_URL (postgres://…). Unset → embedded PGlite under PGLITE_DIR. */
  databaseUrl: string | undefined;
  /** DATABASE_POOL_MAX: PostgreSQL connections of this process. Default 10. */
  databasePoolMax: number;
  /** PGLITE_DIR. Default DATA_DIR/pglite; "memory://" keeps it in memory. */
  pgliteDir: string;
  /**
   * JWT_SECRET. Required (≥ 32 characters) in production; in development a secret is generated
   * and persisted under DATA_DIR when unset.
   */
  jwtSecret: string | undefined;
  /** JWT_ALGORITHM: HS256 (default), HS384 or HS512. */
  jwtAlgorithm: JwtAlgorithm;
  /** ACCESS_TOKEN_TTL in seconds (or "15m", "1h"). Default 900 (15 minutes). */
  accessTokenTtlS: number;
  /** REFRESH_TOKEN_TTL in seconds (or "7d"). Default 604800 (7 days). */
  refreshTokenTtlS: number;
  /**
   * SEED_DEMO: seed a demo organization into an empty database. Default true, but false when
   * NODE_ENV=production (create the first admin there with `bun run users`).
   */
  seedDemo: boolean;
  /** DEMO_PASSWORD for the demo users. Default: generated and printed at seeding. */
  demoPassword: string | undefined;
  /**
   * CORS_ORIGINS: comma-separated origins allowed to call the API and open sockets with
   * credentials. Default empty (same origin only). "*" is refused because credentials are allowed.
   */
  corsOrigins: string[];
  /** RATE_LIMIT_EVENTS_PER_SECOND: token-bucket refill per user for client events. Default 10. */
  rateLimitPerSecond: number;
  /** RATE_LIMIT_BURST: token-bucket capacity per user. Default 20. */
  rateLimitBurst: number;
  /** MAX_CONNECTIONS_PER_USER: the oldest connection is pushed out beyond it. Default 3. */
  maxConnectionsPerUser: number;
  /** MAX_CONVERSATIONS_PER_SOCKET: cap on conversations one socket may join. Default 50. */
  maxConversationsPerSocket: number;
  /** TYPING_TIMEOUT_MS: typing stops by itself after this long without typing_start. Default 6000. */
  typingTimeoutMs: number;
  /** HTTP_BODY_LIMIT bytes for API bodies. Default 65536. */
  httpBodyLimit: number;
  /** WEBHOOK_BODY_LIMIT bytes for webhook bodies. Default 1048576. */
  webhookBodyLimit: number;
  /** CHANNEL: outbound channel, "sandbox" (default: fakes sent → delivered → read) or "whatsapp". */
  channel: ChannelKind;
  /**
   * SERVICE_WINDOW_ENFORCED: refuse free-form messages (409 outside_service_window) when the
   * contact's last message is over 24 h old; templates always pass. Default true with
   * CHANNEL=whatsapp (the provider would refuse them), false with the sandbox.
   */
  serviceWindowEnforced: boolean;
  /** SANDBOX_STEP_MS: delay between the sandbox's status steps. Default 300. */
  sandboxStepMs: number;
  /** WHATSAPP_API_BASE_URL: Graph API base. Default https://graph.facebook.com/v21.0. */
  whatsappApiBaseUrl: string;
  /** WHATSAPP_PHONE_NUMBER_ID: the sending number; also maps inbound webhooks to the demo org. */
  whatsappPhoneNumberId: string;
  /** WHATSAPP_ACCESS_TOKEN: Graph API bearer token (required when CHANNEL=whatsapp). */
  whatsappAccessToken: string | undefined;
  /** WHATSAPP_APP_SECRET: key of the webhook's X-Hub-Signature-256. Unset → webhooks refused (401). */
  whatsappAppSecret: string | undefined;
  /** WHATSAPP_VERIFY_TOKEN: answer of the webhook verification handshake. Unset → verification refused. */
  whatsappVerifyToken: string | undefined;
  /** WHATSAPP_SEND_TIMEOUT_MS: one Graph API call's timeout (a timeout is retried). Default 10000. */
  whatsappSendTimeoutMs: number;
  /**
   * NODE_ID: this process's stable name (outbox leases, cluster session ids). Set it per node so a
   * restarted node reclaims its own leased jobs at once. Default: random per process.
   */
  nodeId: string | undefined;
  /** OUTBOX_* settings of the delivery worker. */
  outbox: OutboxSettings;
  /** MEDIA_DIR: where media files are stored (local storage). Default DATA_DIR/media. */
  mediaDir: string;
  /** MEDIA_MAX_BYTES: largest media file fetched or accepted. Default 16777216 (16 MiB, WhatsApp's video limit). */
  mediaMaxBytes: number;
  /**
   * WEB_DIST_DIR: a prebuilt web UI folder (`bun run build`) served at "/". Unset (default): the
   * page is bundled in memory at start-up, nothing is written.
   */
  webDistDir: string | undefined;
  /** SHUTDOWN_TIMEOUT_MS: graceful shutdown budget before forcing exit. Default 10000. */
  shutdownTimeoutMs: number;
  /**
   * TRUST_PROXY: take the client address from X-Forwarded-For (behind nginx). Default false: the
   * socket's address, so a direct client cannot pick its own rate-limit key.
   */
  trustProxy: boolean;
  /** METRICS_TOKEN: when set, GET /metrics needs `Authorization: Bearer <token>`. Default unset (open). */
  metricsToken: string | undefined;
  /**
   * METRICS_PORT: serve /metrics on this port only (its own listener), not on the public PORT.
   * Default unset: /metrics is on the public port.
   */
  metricsPort: number | undefined;
  /** METRICS_HOST: address of the METRICS_PORT listener. Default 127.0.0.1 (internal only). */
  metricsHost: string;
  /** REDIS_URL and the other cluster variables (src/cluster/config.ts). Null: a single node. */
  cluster: ClusterConfig | null;
  /** REUSE_PORT=1: bind the public port with SO_REUSEPORT (set by the `--workers N` supervisor). */
  reusePort: boolean;
  /** ADMIN_UI and friends: socket.io's admin UI on this server (docs/admin-ui.md). Null: off (default). */
  adminUi: AdminUiConfig | null;
}

export type AdminUiMode = "production" | "development";

/** The socket.io admin UI (`@socket.io/admin-ui`), enabled with ADMIN_UI=true. */
export interface AdminUiConfig {
  /**
   * ADMIN_UI_USERNAME and ADMIN_UI_PASSWORD_HASH (a bcrypt hash, as instrument() expects). Both are
   * required in production; elsewhere both unset means no authentication (with a warning).
   */
  auth: { username: string; passwordHash: string } | null;
  /**
   * ADMIN_UI_MODE: "production" (default: server stats and aggregated counts only) or "development"
   * (also the socket list and every event, which costs a message to the UI per event).
   */
  mode: AdminUiMode;
  /** ADMIN_UI_NAMESPACE: the namespace the UI connects to. Default "/admin". */
  namespace: string;
  /** ADMIN_UI_READONLY: hide the actions (join, leave, emit, disconnect). Default false. */
  readonly: boolean;
}

/** A bcrypt hash as bcryptjs reads it ($2a$, $2b$ or $2y$, cost, 53 characters of salt and hash). */
const BCRYPT_HASH = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

export const MIN_SECRET_LENGTH = 32;
export const DEFAULT_WHATSAPP_PHONE_NUMBER_ID = "demo-phone-number-id";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses "900", "900s", "15m", "1h", "7d" into seconds. */
export function parseDurationSeconds(value: string): number | undefined {
  const match = /^(\d+)\s*([smhd]?)$/.exec(value.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * (DURATION_UNITS[match[2] || "s"] ?? 1);
  return seconds > 0 ? seconds : undefined;
}

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const v = str(name);
    if (v === undefined) return fallback;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    problems.push(`${name} must be one of ${allowed.join(", ")} (got "${v}")`);
    return fallback;
  };
  const int = (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = str(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${v}")`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const v = str(name)?.toLowerCase();
    if (v === undefined) return fallback;
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off"].includes(v)) return false;
    problems.push(`${name} must be true or false (got "${v}")`);
    return fallback;
  };
  const duration = (name: string, fallback: number): number => {
    const v = str(name);
    if (v === undefined) return fallback;
    const s = parseDurationSeconds(v);
    if (s === undefined)
      problems.push(`${name} must be a positive duration like 900, 15m, 1h or 7d (got "${v}")`);
    return s ?? fallback;
  };
  const url = (name: string, fallback: string | undefined, protocols: string[]): string | undefined => {
    const v = str(name);
    if (v === undefined) return fallback;
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) throw new Error();
      return v.replace(/\/+$/, "");
    } catch {
      problems.push(`${name} must be a ${protocols.join(" or ")} URL (got "${v}")`);
      return fallback;
    }
  };

  const optionalPath = (name: string): string | undefined => {
    const v = str(name);
    return v === undefined ? undefined : resolve(v);
  };

  const nodeEnv = oneOf<NodeEnv>("NODE_ENV", ["development", "test", "production"], "development");
  const dataDir = resolve(str("DATA_DIR") ?? "./data");
  const pgliteRaw = str("PGLITE_DIR");
  const jwtSecret = str("JWT_SECRET");
  if (nodeEnv === "production") {
    if (!jwtSecret) problems.push("JWT_SECRET is required in production");
    else if (jwtSecret.length < MIN_SECRET_LENGTH)
      problems.push(`JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters in production`);
  } else if (jwtSecret && jwtSecret.length < MIN_SECRET_LENGTH && nodeEnv !== "test") {
    problems.push(`JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters (unset it to generate one)`);
  }

  const corsOrigins = (str("CORS_ORIGINS") ?? "")
    .split(",")
    .map((o) => o.trim().replace(/\/+$/, ""))
    .filter(Boolean);
  for (const origin of corsOrigins) {
    if (origin === "*")
      problems.push("CORS_ORIGINS must list origins: '*' is refused because credentials are allowed");
    else if (!/^https?:\/\/[^/\s]+$/.test(origin))
      problems.push(`CORS_ORIGINS entry "${origin}" must be an origin like https://app.example.com`);
  }

  const channel = oneOf<ChannelKind>("CHANNEL", ["sandbox", "whatsapp"], "sandbox");
  const whatsappAccessToken = str("WHATSAPP_ACCESS_TOKEN");
  if (channel === "whatsapp" && !whatsappAccessToken)
    problems.push("WHATSAPP_ACCESS_TOKEN is required when CHANNEL=whatsapp");

  function parseAdminUi(): AdminUiConfig {
    const username = str("ADMIN_UI_USERNAME");
    const passwordHash = str("ADMIN_UI_PASSWORD_HASH");
    if (passwordHash !== undefined && !BCRYPT_HASH.test(passwordHash))
      problems.push("ADMIN_UI_PASSWORD_HASH must be a bcrypt hash ($2b$10$…), not a password");
    if ((username === undefined) !== (passwordHash === undefined))
      problems.push("ADMIN_UI_USERNAME and ADMIN_UI_PASSWORD_HASH go together: set both or neither");
    else if (username === undefined && nodeEnv === "production")
      problems.push("ADMIN_UI=true requires ADMIN_UI_USERNAME and ADMIN_UI_PASSWORD_HASH in production");
    const namespace = str("ADMIN_UI_NAMESPACE") ?? "/admin";
    if (!/^\/[\w-]+$/.test(namespace) || namespace === "/")
      problems.push(`ADMIN_UI_NAMESPACE must be a namespace like /admin (got "${namespace}")`);
    return {
      auth: username !== undefined && passwordHash !== undefined ? { username, passwordHash } : null,
      mode: oneOf<AdminUiMode>("ADMIN_UI_MODE", ["production", "development"], "production"),
      namespace,
      readonly: bool("ADMIN_UI_READONLY", false),
    };
  }

  const adminUi = bool("ADMIN_UI", false) ? parseAdminUi() : null;
  const nodeId = str("NODE_ID");
  if (nodeId !== undefined && !isValidNodeId(nodeId)) problems.push("NODE_ID must be 1-64 of [A-Za-z0-9_-]");
  const whatsappSendTimeoutMs = int("WHATSAPP_SEND_TIMEOUT_MS", 10_000, 100, 120_000);
  const outbox: OutboxSettings = {
    pollMs: int("OUTBOX_POLL_MS", 1000, 10, 60_000),
    concurrency: int("OUTBOX_CONCURRENCY", 8, 1, 256),
    leaseMs: int("OUTBOX_LEASE_MS", 30_000, 200, 600_000),
    retryBaseMs: int("OUTBOX_RETRY_BASE_MS", 1000, 1, 600_000),
    retryMaxMs: int("OUTBOX_RETRY_MAX_MS", 30_000, 1, 3_600_000),
    retryBudgetMs: duration("OUTBOX_RETRY_BUDGET", 6 * 3600) * 1000,
  };
  // A send still running when its lease expires could be sent again by another node.
  if (outbox.leaseMs < 2 * whatsappSendTimeoutMs)
    problems.push("OUTBOX_LEASE_MS must be at least twice WHATSAPP_SEND_TIMEOUT_MS");
  if (outbox.retryMaxMs < outbox.retryBaseMs)
    problems.push("OUTBOX_RETRY_MAX_MS must not be below OUTBOX_RETRY_BASE_MS");

  const config: Config = {
    nodeEnv,
    host: str("HOST") ?? (nodeEnv === "production" ? "0.0.0.0" : "127.0.0.1"),
    port: int("PORT", 8000, 0, 65535),
    dataDir,
    databaseUrl: url("DATABASE_URL", undefined, ["postgres:", "postgresql:"]),
    databasePoolMax: int("DATABASE_POOL_MAX", 10, 1, 1000),
    pgliteDir: pgliteRaw === "memory://" ? pgliteRaw : resolve(pgliteRaw ?? `${dataDir}/pglite`),
    jwtSecret,
    jwtAlgorithm: oneOf<JwtAlgorithm>("JWT_ALGORITHM", ["HS256", "HS384", "HS512"], "HS256"),
    accessTokenTtlS: duration("ACCESS_TOKEN_TTL", 900),
    refreshTokenTtlS: duration("REFRESH_TOKEN_TTL", 7 * 86400),
    seedDemo: bool("SEED_DEMO", nodeEnv !== "production"),
    demoPassword: str("DEMO_PASSWORD"),
    corsOrigins,
    rateLimitPerSecond: int("RATE_LIMIT_EVENTS_PER_SECOND", 10, 1),
    rateLimitBurst: int("RATE_LIMIT_BURST", 20, 1),
    maxConnectionsPerUser: int("MAX_CONNECTIONS_PER_USER", 3, 1),
    maxConversationsPerSocket: int("MAX_CONVERSATIONS_PER_SOCKET", 50, 1),
    typingTimeoutMs: int("TYPING_TIMEOUT_MS", 6000, 100),
    httpBodyLimit: int("HTTP_BODY_LIMIT", 64 * 1024, 1024),
    webhookBodyLimit: int("WEBHOOK_BODY_LIMIT", 1024 * 1024, 1024),
    channel,
    serviceWindowEnforced: bool("SERVICE_WINDOW_ENFORCED", channel === "whatsapp"),
    sandboxStepMs: int("SANDBOX_STEP_MS", 300, 0),
    whatsappApiBaseUrl: url("WHATSAPP_API_BASE_URL", "https://graph.facebook.com/v21.0", [
      "http:",
      "https:",
    ])!,
    whatsappPhoneNumberId: str("WHATSAPP_PHONE_NUMBER_ID") ?? DEFAULT_WHATSAPP_PHONE_NUMBER_ID,
    whatsappAccessToken,
    whatsappAppSecret: str("WHATSAPP_APP_SECRET"),
    whatsappVerifyToken: str("WHATSAPP_VERIFY_TOKEN"),
    whatsappSendTimeoutMs,
    nodeId,
    outbox,
    mediaDir: resolve(str("MEDIA_DIR") ?? `${dataDir}/media`),
    mediaMaxBytes: int("MEDIA_MAX_BYTES", 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    webDistDir: optionalPath("WEB_DIST_DIR"),
    shutdownTimeoutMs: int("SHUTDOWN_TIMEOUT_MS", 10_000, 0),
    trustProxy: bool("TRUST_PROXY", false),
    metricsToken: str("METRICS_TOKEN"),
    metricsPort: str("METRICS_PORT") === undefined ? undefined : int("METRICS_PORT", 0, 0, 65535),
    metricsHost: str("METRICS_HOST") ?? "127.0.0.1",
    cluster: null,
    reusePort: bool("REUSE_PORT", false),
    adminUi,
  };
  const cluster = parseClusterConfig(env);
  problems.push(...cluster.problems);
  config.cluster = cluster.config;
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
