/**
 * The `cookie` option: engine.io sets a cookie holding the session id on the handshake answer (some
 * load balancers stick sessions to a node by it).
 */

export interface CookieOptions {
  /** Cookie name. Default "io". */
  name?: string;
  /** Default "/". */
  path?: string;
  /** Default true. */
  httpOnly?: boolean;
  /** Default "lax"; false leaves the attribute out. */
  sameSite?: "strict" | "lax" | "none" | boolean;
  /** Default false. */
  secure?: boolean;
  domain?: string;
  /** Seconds. */
  maxAge?: number;
  expires?: Date;
}

export type ResolvedCookieOptions = CookieOptions & { name: string };

/**
 * engine.io's defaults for `cookie: true` or a partial object. Throws on a name or attribute that
 * cannot be written, so a bad option fails at construction, not at every handshake.
 */
export function resolveCookie(option: boolean | CookieOptions | undefined): ResolvedCookieOptions | false {
  if (!option) return false;
  const resolved = {
    name: "io",
    path: "/",
    httpOnly: true,
    sameSite: "lax" as const,
    ...(option === true ? {} : option),
  };
  serializeCookie(resolved, "check");
  return resolved;
}

/** A cookie name: an RFC 6265 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Attribute values must not end the attribute list or the header line. */
const ATTRIBUTE_VALUE = /^[^;\r\n]*$/;

/** `name=value; Path=/; HttpOnly; SameSite=Lax` as the `cookie` package writes it. */
export function serializeCookie(opts: ResolvedCookieOptions, value: string): string {
  if (!TOKEN.test(opts.name)) throw new TypeError(`invalid cookie name: ${opts.name}`);
  const parts = [`${opts.name}=${encodeURIComponent(value)}`];
  if (opts.maxAge !== undefined) parts.push(`Max-Age=${Math.floor(opts.maxAge)}`);
  if (opts.domain !== undefined) parts.push(`Domain=${checked(opts.domain)}`);
  if (opts.path !== undefined) parts.push(`Path=${checked(opts.path)}`);
  if (opts.expires !== undefined) parts.push(`Expires=${opts.expires.toUTCString()}`);
  if (opts.httpOnly) parts.push("HttpOnly");
  if (opts.secure) parts.push("Secure");
  const sameSite = opts.sameSite === true ? "strict" : opts.sameSite;
  if (sameSite) parts.push(`SameSite=${sameSite[0]!.toUpperCase()}${sameSite.slice(1)}`);
  return parts.join("; ");
}

function checked(value: string): string {
  if (!ATTRIBUTE_VALUE.test(value)) throw new TypeError(`invalid cookie attribute: ${value}`);
  return value;
}
