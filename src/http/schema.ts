/**
 * Request schemas that do two jobs from one declaration: `parse` validates an input (every failure
 * is the usual 400 `validation_error` naming the field, with validate.ts's messages), and `json` is
 * the JSON Schema the OpenAPI document publishes (src/http/openapi/). A route declares its
 * parameters, query and body once in src/http/openapi/routes.ts and its handler parses with them,
 * so the reference cannot drift from what the server accepts.
 */

import { PG_INT_MAX } from "../shared/ranges.ts";
import { invalid } from "./errors.ts";
import { hasNul, intQuery, NUL_REFUSED, UUID_RE } from "./validate.ts";

/** A JSON Schema (draft 2020-12, as OpenAPI 3.1 uses it). */
export type JsonSchema = Record<string, unknown>;

export interface Schema<T> {
  readonly json: JsonSchema;
  /** False when the field may be absent (`optional()`). */
  readonly required: boolean;
  /** Validates `value` found at `path` ("email", "content.text", "limit"); throws HttpError 400. */
  parse(value: unknown, path: string): T;
}

type Shape = Record<string, Schema<unknown>>;
type Parsed<S extends Shape> = { [K in keyof S]: S[K] extends Schema<infer T> ? T : never };

export interface ObjectSchema<S extends Shape> extends Schema<Parsed<S>> {
  readonly shape: S;
}

const schema = <T>(json: JsonSchema, parse: (value: unknown, path: string) => T): Schema<T> => ({
  json,
  required: true,
  parse,
});

/** A non-empty string of at most `max` characters, without NUL. */
export function string(opts: { max?: number; description?: string; format?: string } = {}): Schema<string> {
  const json: JsonSchema = { type: "string", minLength: 1 };
  if (opts.max !== undefined) json.maxLength = opts.max;
  if (opts.format) json.format = opts.format;
  if (opts.description) json.description = opts.description;
  return schema(json, (v, path) => {
    if (typeof v !== "string" || v.trim() === "")
      throw invalid(path, "is required and must be a non-empty string");
    if (opts.max !== undefined && v.length > opts.max)
      throw invalid(path, `must be at most ${opts.max} characters`);
    if (hasNul(v)) throw invalid(path, NUL_REFUSED);
    return v;
  });
}

/** A UUID (path parameters), lower-cased. */
export function uuid(description?: string): Schema<string> {
  return schema({ type: "string", format: "uuid", ...(description ? { description } : {}) }, (v, path) => {
    if (typeof v !== "string" || !UUID_RE.test(v)) throw invalid(path, "must be a UUID");
    return v.toLowerCase();
  });
}

/**
 * An integer in [min, max] written as a query string. `max` defaults to what a PostgreSQL integer
 * column holds (every such parameter ends up compared with one), as validate.ts's intQuery does.
 */
export function queryInt(opts: {
  min: number;
  max?: number;
  default?: number;
  description?: string;
}): Schema<number> {
  const max = opts.max ?? PG_INT_MAX;
  const json: JsonSchema = { type: "integer", minimum: opts.min, maximum: max };
  if (opts.default !== undefined) json.default = opts.default;
  if (opts.description) json.description = opts.description;
  return schema(json, (v, path) => {
    if (typeof v !== "string") throw invalid(path, "must be an integer");
    // intQuery: decimal digits only, compared exactly (no rounding of huge values into range).
    return intQuery(v, path, opts.min, max) as number;
  });
}

/** One of a fixed list of strings. */
export function oneOf<T extends string>(values: readonly T[], description?: string): Schema<T> {
  return schema({ type: "string", enum: [...values], ...(description ? { description } : {}) }, (v, path) => {
    if (typeof v !== "string" || !values.includes(v as T))
      throw invalid(path, `must be one of ${values.join(", ")}`);
    return v as T;
  });
}

/**
 * A value checked by a hand-written parser, published with the given JSON Schema (inputs whose rule
 * a plain schema cannot say, like a message's content that depends on its type).
 */
export function custom<T>(json: JsonSchema, parse: (value: unknown, path: string) => T): Schema<T> {
  return schema(json, parse);
}

/** The same schema, but absent (undefined, or null in a body) is allowed and parses to undefined. */
export function optional<T>(inner: Schema<T>): Schema<T | undefined> {
  return {
    json: inner.json,
    required: false,
    parse: (v, path) => (v === undefined || v === null ? undefined : inner.parse(v, path)),
  };
}

/** An object of named fields; `prefix` is prepended to field names in errors ("content."). */
export function object<S extends Shape>(shape: S, opts: { description?: string } = {}): ObjectSchema<S> {
  const required = Object.entries(shape)
    .filter(([, s]) => s.required)
    .map(([name]) => name);
  const json: JsonSchema = {
    type: "object",
    properties: Object.fromEntries(Object.entries(shape).map(([name, s]) => [name, s.json])),
    ...(required.length > 0 ? { required } : {}),
    ...(opts.description ? { description: opts.description } : {}),
  };
  return {
    json,
    required: true,
    shape,
    parse(value, path) {
      if (typeof value !== "object" || value === null || Array.isArray(value))
        throw invalid(path || "body", "must be a JSON object");
      const input = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [name, field] of Object.entries(shape)) {
        const parsed = field.parse(input[name], path ? `${path}.${name}` : name);
        if (parsed !== undefined) out[name] = parsed;
      }
      return out as Parsed<S>;
    },
  };
}

/** Parses query parameters (each the first value of its name) with an object schema. */
export function parseQuery<S extends Shape>(
  query: ObjectSchema<S>,
  read: (name: string) => string | undefined,
): Parsed<S> {
  // An empty query value (`?limit=`) counts as absent, as it always has.
  const values = Object.keys(query.shape).map((name) => [name, read(name) || undefined]);
  return query.parse(Object.fromEntries(values), "");
}
