/**
 * Structured, quiet-by-default logging shared by every layer.
 *
 * `LOG_LEVEL` (error | warn | info | debug, default info; "silent" mutes everything) sets the
 * threshold. `DEBUG` switches debug output on per layer without a rebuild, as a comma-separated list
 * of layer names or prefixes with `*`: `DEBUG=engine,socketio` or `DEBUG=*`. Lines are JSON so a
 * log shipper can parse them; `LOG_FORMAT=pretty` prints them for humans.
 */

export type LogLevel = "error" | "warn" | "info" | "debug";
export type LogFields = Record<string, unknown>;

export interface Logger {
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  /** True when debug lines of this layer are printed: guard costly debug arguments with it. */
  readonly debugEnabled: boolean;
}

const RANK: Record<LogLevel | "silent", number> = { silent: -1, error: 0, warn: 1, info: 2, debug: 3 };

function thresholdFromEnv(): number {
  const level = (process.env.LOG_LEVEL ?? "info").toLowerCase() as LogLevel | "silent";
  return RANK[level] ?? RANK.info;
}

function debugPatterns(): RegExp[] {
  return (process.env.DEBUG ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`));
}

function serializeError(value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;
}

/** A logger for one layer ("engine", "socketio", "adapter:redis", "http", ...). */
export function createLogger(layer: string): Logger {
  const threshold = thresholdFromEnv();
  const debugEnabled = threshold >= RANK.debug || debugPatterns().some((re) => re.test(layer));
  const pretty = process.env.LOG_FORMAT === "pretty";

  const write = (level: LogLevel, msg: string, fields?: LogFields) => {
    const enabled = level === "debug" ? debugEnabled : RANK[level] <= threshold;
    if (!enabled) return;
    const out = level === "error" || level === "warn" ? process.stderr : process.stdout;
    if (pretty) {
      const extra = fields ? ` ${JSON.stringify(fields, (_k, v) => serializeError(v))}` : "";
      out.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${layer}] ${msg}${extra}\n`);
      return;
    }
    const line: LogFields = { time: new Date().toISOString(), level, layer, msg };
    if (fields) for (const [k, v] of Object.entries(fields)) line[k] = serializeError(v);
    out.write(`${JSON.stringify(line)}\n`);
  };

  return {
    debugEnabled,
    error: (msg, fields) => write("error", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    debug: (msg, fields) => write("debug", msg, fields),
  };
}
