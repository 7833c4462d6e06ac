/**
 * Reading request input (the JSON body, the raw body, the client address) and the checks the schemas
 * of src/http/schema.ts build on; every failure is a 400 naming the field.
 */
import type { Context } from "hono";
import { PG_INT_MAX } from "../shared/ranges.ts";
import { UUID_RE } from "../shared/uuid.ts";
import { HTTP_ERROR_CODES, HttpError, invalid } from "./errors.ts";

export { UUID_RE };

/**
 * The JSON object body, refusing bodies over `limit` bytes (by Content-Length first, then by the
 * bytes actually read, since a chunked body has no length).
 */
export async function readJsonObject(c: Context, limit: number): Promise<Record<string, unknown>> {
  const raw = await readRawBody(c, limit);
  const type = c.req.header("content-type") ?? "";
  if (!type.toLowerCase().includes("application/json"))
    throw new HttpError(
      415,
      HTTP_ERROR_CODES.unsupportedMediaType,
      "body: Content-Type must be application/json",
      "body",
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(raw));
  } catch {
    throw invalid("body", "is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw invalid("body", "must be a JSON object");
  return parsed as Record<string, unknown>;
}

export async function readRawBody(c: Context, limit: number): Promise<Uint8Array> {
  const declared = Number(c.req.header("content-length") ?? "0");
  const tooLarge = () =>
    new HttpError(413, HTTP_ERROR_CODES.payloadTooLarge, `body: larger than ${limit} bytes`, "body");
  if (declared > limit) throw tooLarge();
  const body = c.req.raw.body;
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** PostgreSQL text and jsonb cannot hold U+0000, so a string carrying it could never be stored. */
export const NUL_REFUSED = "must not contain the NUL character (U+0000)";
export const hasNul = (s: string): boolean => s.includes("\u0000");

/**
 * An optional integer query parameter within [min, max] (absent or empty: undefined). The default
 * `max` is what a PostgreSQL integer column holds, since every such parameter ends up compared with
 * one: beyond it the database would refuse the query. Decimal digits only ("1e3", "0x10", " 1" and
 * "1.0" are refused), so the number read is the number written.
 */
export function intQuery(
  value: string | undefined,
  field: string,
  min: number,
  max: number = PG_INT_MAX,
): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^-?\d+$/.test(value)) throw invalid(field, "must be an integer");
  // Compared as text-exact integers: Number("9007199254740993") would round into range.
  const n = BigInt(value);
  if (n < BigInt(min) || n > BigInt(max)) throw invalid(field, `must be between ${min} and ${max}`);
  return Number(n);
}

/** The client's address: the first X-Forwarded-For hop behind a trusted proxy, else the socket's. */
export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
    if (forwarded) return forwarded;
  }
  const server = (c.env as { server?: { requestIP(req: Request): { address: string } | null } } | undefined)
    ?.server;
  return server?.requestIP(c.req.raw)?.address ?? "unknown";
}
