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

/**
 * Logs never carry user data. Errors are the way it leaks in: a failed query's error (Drizzle's
 * "Failed query: … params: …") lists its parameters, which hold message text, password hashes and
 * tokens, and a database server's message quotes the value it refused ('invalid input syntax for
 * type uuid: "…"'). So an error is logged as its name, code, message and stack with the parameters
 * cut and, for a database server's error (it has a `severity`), every quoted value blanked; the
 * structured fields that name the schema (constraint, table, column) stay. Other fields of an
 * error (a driver's `params`, `query`, `detail`) are never logged.
 */
const QUERY_PARAMS = /\nparams: [\s\S]*?(?=\n\s+at |$)/;
const QUOTED = /"(?:[^"\\]|\\.)*"/g;
const SAFE_DATABASE_FIELDS = ["code", "severity", "constraint", "table", "column", "routine"] as const;

function redactErrorText(text: string, fromDatabase: boolean): string {
  const cut = text.replace(QUERY_PARAMS, "\nparams: [redacted]");
  return fromDatabase ? cut.replace(QUOTED, '"[redacted]"') : cut;
}

function serializeError(value: unknown, depth = 0): unknown {
  if (!(value instanceof Error)) return value;
  const fields = value as Error & Record<string, unknown>;
  const fromDatabase = typeof fields.severity === "string";
  const out: LogFields = {
    name: value.name,
    message: redactErrorText(value.message, fromDatabase),
    stack: value.stack === undefined ? undefined : redactErrorText(value.stack, fromDatabase),
  };
  for (const key of SAFE_DATABASE_FIELDS) if (typeof fields[key] === "string") out[key] = fields[key];
  if (value.cause !== undefined && depth < 4) out.cause = serializeError(value.cause, depth + 1);
  return out;
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
