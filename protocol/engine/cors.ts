/**
 * CORS for the engine's HTTP answers, with the `cors` package's semantics (which engine.io
 * uses): a preflight is answered 204 by the engine itself; an origin that is not allowed simply
 * gets no `Access-Control-Allow-Origin`, so the browser blocks it.
 */
import { type CorsOptions, type CorsOrigin, ENGINE_DEFAULTS } from "./options.ts";

function list(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : value.join(",");
}

function matchesRule(origin: string, rule: string | RegExp): boolean {
  return typeof rule === "string" ? rule === origin : rule.test(origin);
}

/** The `Access-Control-Allow-Origin` value for this request, or null for none. */
async function allowedOrigin(rule: CorsOrigin, origin: string | null, req: Request, credentials: boolean) {
  if (typeof rule === "function") {
    const verdict = await rule(origin, req);
    if (verdict === false || origin === null) return typeof verdict === "string" ? verdict : null;
    return typeof verdict === "string" ? verdict : origin;
  }
  if (rule === false) return null;
  // Browsers refuse "*" together with credentials: answer the caller's origin instead.
  if (rule === "*") return credentials && origin !== null ? origin : "*";
  if (rule === true) return origin;
  if (typeof rule === "string") return rule;
  if (origin === null) return null;
  const rules: ReadonlyArray<string | RegExp> = rule instanceof RegExp ? [rule] : rule;
  return rules.some((r) => matchesRule(origin, r)) ? origin : null;
}

/**
 * True when the CORS headers computed for a request let a page of `origin` read the answer: their
 * `Access-Control-Allow-Origin` is "*" or the origin itself.
 */
export function corsAllowsOrigin(headers: Readonly<Record<string, unknown>>, origin: string): boolean {
  const allowed = headers["Access-Control-Allow-Origin"];
  return allowed === "*" || allowed === origin;
}

/** True for a CORS preflight (an OPTIONS request). */
export function isPreflight(req: Request): boolean {
  return req.method === "OPTIONS";
}

/** The CORS headers to add to the answer of `req`. */
export async function corsHeaders(opts: CorsOptions, req: Request): Promise<Record<string, string>> {
  const headers: Record<string, string> = {};
  const origin = req.headers.get("origin");
  const rule = opts.origin ?? ENGINE_DEFAULTS.corsOrigin;
  const credentials = opts.credentials === true;
  const allowOrigin = await allowedOrigin(rule, origin, req, credentials);
  if (allowOrigin !== null) headers["Access-Control-Allow-Origin"] = allowOrigin;
  // Any answer that depends on the request's origin must tell caches so.
  if (allowOrigin !== "*" && !(typeof rule === "string" && rule !== "*")) headers.Vary = "Origin";
  if (credentials) headers["Access-Control-Allow-Credentials"] = "true";
  const exposed = list(opts.exposedHeaders);
  if (exposed) headers["Access-Control-Expose-Headers"] = exposed;
  if (isPreflight(req)) {
    headers["Access-Control-Allow-Methods"] = list(opts.methods) ?? ENGINE_DEFAULTS.corsMethods;
    // The cors package reads `allowedHeaders || headers`.
    const configured = opts.allowedHeaders || opts.headers;
    const allowed = list(configured) ?? req.headers.get("access-control-request-headers");
    if (allowed) {
      headers["Access-Control-Allow-Headers"] = allowed;
      if (configured === undefined)
        headers.Vary = headers.Vary
          ? `${headers.Vary}, Access-Control-Request-Headers`
          : "Access-Control-Request-Headers";
    }
    if (opts.maxAge !== undefined) headers["Access-Control-Max-Age"] = String(opts.maxAge);
  }
  return headers;
}
