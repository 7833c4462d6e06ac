/**
 * Request schemas that do two jobs from one declaration: `parse` validates an input (every failure
 * is the usual 400 `validation_error` naming the field, with validate.ts's messages), and `json` is
 * the JSON Schema the OpenAPI document publishes (src/http/openapi/). A route declares its
 * parameters, query and body once in src/http/openapi/routes.ts and its handler parses with them,
 * so the reference cannot drift from what the server accepts (test/http/schema-agreement.test.ts
 * runs the published schemas and the parsers over the same inputs).
 *
 * What JSON Schema cannot say, and is said in words instead: lengths are UTF-16 code units here
 * (JSON Schema counts code points: they differ only for characters outside the BMP, like emoji), a
 * password's "4 different characters" (its backreference pattern would backtrack on long input), and
 * text is measured after the text rule (src/shared/text.ts) removed control characters, while a
 * JSON Schema validator sees the text as sent.
 */

import { PG_INT_MAX } from "../shared/ranges.ts";
import { field, type JsonSchema, PATTERNS, type Schema } from "../shared/schema.ts";
import { cleanText, type TextShape } from "../shared/text.ts";
import { invalid } from "./errors.ts";
import { hasNul, intQuery, NUL_REFUSED, UUID_RE } from "./validate.ts";

export type { JsonSchema, Schema };

type Shape = Record<string, Schema<unknown>>;
type Parsed<S extends Shape> = { [K in keyof S]: S[K] extends Schema<infer T> ? T : never };

export interface ObjectSchema<S extends Shape> extends Schema<Parsed<S>> {
  readonly shape: S;
}

const describe = (json: JsonSchema, description?: string): JsonSchema =>
  description ? { ...json, description } : json;

/** A non-empty string of at most `max` characters, without NUL, taken verbatim (credentials, tokens). */
export function string(opts: { max?: number; description?: string; format?: string } = {}): Schema<string> {
  const json: JsonSchema = { type: "string", minLength: 1, pattern: "\\S", not: { pattern: "\\u0000" } };
  if (opts.max !== undefined) json.maxLength = opts.max;
  if (opts.format) json.format = opts.format;
  return field(describe(json, opts.description), (v, path) => {
    if (typeof v !== "string" || v.trim() === "")
      throw invalid(path, "is required and must be a non-empty string");
    if (opts.max !== undefined && v.length > opts.max)
      throw invalid(path, `must be at most ${opts.max} characters`);
    if (hasNul(v)) throw invalid(path, NUL_REFUSED);
    return v;
  });
}

export interface TextSchemaOptions {
  /** Longest accepted text after normalization (TEXT_LIMITS of src/shared/text.ts). */
  max: number;
  /** Default "multiline"; "line" turns TAB, LF and CR into spaces. */
  shape?: TextShape;
  description?: string;
  /** A further rule on the normalized text: a regular expression (run with the `u` flag) and its message. */
  pattern?: { source: string; message: string };
  format?: string;
}

/**
 * Free text that will be stored (message text, captions, names): normalized by the one text rule
 * (src/shared/text.ts), then required non-blank and within `max`, else a 400 naming the field.
 */
export function text(opts: TextSchemaOptions): Schema<string> {
  const json: JsonSchema = { type: "string", minLength: 1, maxLength: opts.max, pattern: PATTERNS.nonBlank };
  if (opts.format) json.format = opts.format;
  const extra = opts.pattern ? new RegExp(opts.pattern.source, "u") : undefined;
  if (opts.pattern) json.allOf = [{ pattern: opts.pattern.source }];
  return field(describe(json, opts.description), (v, path) => {
    const value = typeof v === "string" ? cleanText(v, opts.shape) : undefined;
    if (value === undefined || value.trim() === "")
      throw invalid(path, "is required and must be a non-empty string");
    if (value.length > opts.max) throw invalid(path, `must be at most ${opts.max} characters`);
    if (extra && opts.pattern && !extra.test(value)) throw invalid(path, opts.pattern.message);
    return value;
  });
}

/** A UUID, lower-cased. */
export function uuid(description?: string, opts: { message?: string } = {}): Schema<string> {
  const json = describe({ type: "string", format: "uuid", pattern: PATTERNS.uuid }, description);
  return field(json, (v, path) => {
    if (typeof v !== "string" || !UUID_RE.test(v)) throw invalid(path, opts.message ?? "must be a UUID");
    return v.toLowerCase();
  });
}

/** true or false. */
export function boolean(description?: string): Schema<boolean> {
  return field(describe({ type: "boolean" }, description), (v, path) => {
    if (typeof v !== "boolean") throw invalid(path, "must be true or false");
    return v;
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
  return field(describe(json, opts.description), (v, path) => {
    if (typeof v !== "string") throw invalid(path, "must be an integer");
    // intQuery: decimal digits only, compared exactly (no rounding of huge values into range).
    return intQuery(v, path, opts.min, max) as number;
  });
}

/** A position in a sequence given either as its number or as the id of the item there. */
export type SeqOrId = { seq: number } | { id: string };

/**
 * A query value that is either a sequence number in [min, max] (decimal digits) or a UUID naming
 * the item (`?after=12` or `?after=<message id>`).
 */
export function querySeqOrId(opts: { min: number; max?: number; description?: string }): Schema<SeqOrId> {
  const max = opts.max ?? PG_INT_MAX;
  const json: JsonSchema = {
    oneOf: [
      { type: "integer", minimum: opts.min, maximum: max },
      { type: "string", format: "uuid", pattern: PATTERNS.uuid },
    ],
  };
  return field(describe(json, opts.description), (v, path): SeqOrId => {
    if (typeof v === "string" && UUID_RE.test(v)) return { id: v.toLowerCase() };
    if (typeof v !== "string" || !/^-?\d+$/.test(v)) throw invalid(path, "must be a seq number or a UUID");
    return { seq: intQuery(v, path, opts.min, max) as number };
  });
}

/** One of a fixed list of strings. */
export function oneOf<T extends string>(values: readonly T[], description?: string): Schema<T> {
  return field(describe({ type: "string", enum: [...values] }, description), (v, path) => {
    if (typeof v !== "string" || !values.includes(v as T))
      throw invalid(path, `must be one of ${values.join(", ")}`);
    return v as T;
  });
}

/**
 * A value checked by a hand-written parser, published with the given JSON Schema (a rule the
 * combinators here cannot say). Its agreement with the JSON is the declaration's own promise: prefer
 * the combinators.
 */
export function custom<T>(json: JsonSchema, parse: (value: unknown, path: string) => T): Schema<T> {
  return field(json, parse);
}

/** `json` that also admits null (what `optional` lets through in a body). */
function orNull(json: JsonSchema): JsonSchema {
  const { description, ...rest } = json;
  if (typeof rest.type === "string") {
    const out: JsonSchema = { ...rest, type: [rest.type, "null"] };
    if (Array.isArray(rest.enum)) out.enum = [...rest.enum, null];
    return describe(out, description as string | undefined);
  }
  return describe({ anyOf: [rest, { type: "null" }] }, description as string | undefined);
}

/**
 * The same schema, but the field may be absent and parses to undefined. In a body, null counts as
 * absent too (and is published so), unless `nullable: false`: then null is refused by `inner`.
 */
export function optional<T>(inner: Schema<T>, opts: { nullable?: boolean } = {}): Schema<T | undefined> {
  const nullable = opts.nullable ?? true;
  return {
    json: nullable ? orNull(inner.json) : inner.json,
    paramJson: inner.paramJson ?? inner.json,
    required: false,
    parse: (v, path) => (v === undefined || (nullable && v === null) ? undefined : inner.parse(v, path)),
  };
}

/** An array of at most `max` items, each parsed by `items` (errors name `path[i]`). */
export function array<T>(
  items: Schema<T>,
  opts: { max: number; description?: string; message?: string },
): Schema<T[]> {
  const json = describe({ type: "array", items: items.json, maxItems: opts.max }, opts.description);
  return field(json, (v, path) => {
    if (!Array.isArray(v)) throw invalid(path, opts.message ?? "must be an array");
    if (v.length > opts.max) throw invalid(path, `must have at most ${opts.max} items`);
    return v.map((item, i) => items.parse(item, `${path}[${i}]`));
  });
}

export interface ObjectOptions {
  description?: string;
  /** The message when the value is not an object. Default "must be a JSON object". */
  message?: string;
  /** Fields other than the shape's are refused with this message (naming the field), and published so. */
  closed?: string;
  /** At least one field must be given, else this message (naming `body` or the object's path). */
  atLeastOne?: string;
  /**
   * Fields of which only the first one present is read (`media_id` or `url`): the later ones are
   * then ignored; when none is present, the last one's "required" error. Each is declared required.
   */
  firstOf?: readonly string[];
  /** Pairs of fields that cannot be given together (the second is named in the error). */
  exclusive?: readonly (readonly [string, string])[];
}

const joinPath = (path: string, name: string) => (path ? `${path}.${name}` : name);

/** An object of named fields; errors name `path.field` (or `field` at the top). */
export function object<S extends Shape>(shape: S, opts: ObjectOptions = {}): ObjectSchema<S> {
  const firstOf = opts.firstOf ?? [];
  const plain = Object.entries(shape).filter(([name]) => !firstOf.includes(name));
  const required = plain.filter(([, s]) => s.required).map(([name]) => name);
  const json: JsonSchema = {
    type: "object",
    properties: Object.fromEntries(plain.map(([name, s]) => [name, s.json])),
    ...(required.length > 0 ? { required } : {}),
  };
  if (opts.closed) json.additionalProperties = false;
  if (opts.atLeastOne) json.minProperties = 1;
  if (firstOf.length > 0)
    json.oneOf = firstOf.map((name, i) => ({
      required: [name],
      properties: { [name]: shape[name]!.json },
      ...(i > 0 ? { not: { anyOf: firstOf.slice(0, i).map((earlier) => ({ required: [earlier] })) } } : {}),
    }));
  if (opts.exclusive && opts.exclusive.length > 0)
    json.allOf = opts.exclusive.map((pair) => ({ not: { required: [...pair] } }));
  return {
    json: describe(json, opts.description),
    required: true,
    shape,
    parse(value, path) {
      if (typeof value !== "object" || value === null || Array.isArray(value))
        throw invalid(path || "body", opts.message ?? "must be a JSON object");
      const input = value as Record<string, unknown>;
      if (opts.closed)
        for (const key of Object.keys(input))
          if (!(key in shape)) throw invalid(joinPath(path, key), opts.closed);
      for (const [a, b] of opts.exclusive ?? [])
        if (input[a] !== undefined && input[b] !== undefined)
          throw invalid(joinPath(path, b), `cannot be combined with ${a}`);
      const out: Record<string, unknown> = {};
      for (const [name, schema] of plain) {
        const parsed = schema.parse(input[name], joinPath(path, name));
        if (parsed !== undefined) out[name] = parsed;
      }
      if (firstOf.length > 0) {
        const name = firstOf.find((n) => input[n] !== undefined) ?? firstOf[firstOf.length - 1]!;
        out[name] = shape[name]!.parse(input[name], joinPath(path, name));
      }
      if (opts.atLeastOne && Object.keys(out).length === 0) throw invalid(path || "body", opts.atLeastOne);
      return out as Parsed<S>;
    },
  };
}

type VariantsOf<V extends Record<string, ObjectSchema<Shape>>> = {
  [K in keyof V]: { [D in "tag"]: K } & (V[K] extends Schema<infer T> ? T : never);
}[keyof V];

/**
 * An object whose fields depend on its `discriminator` field (a message's content on its
 * `message_type`): one object schema per value, published as a `oneOf` of them. An absent (or
 * null) discriminator means `fallback`. Parses to `{tag, ...fields of that variant}`.
 */
export function variants<V extends Record<string, ObjectSchema<Shape>>>(
  discriminator: string,
  fallback: keyof V & string,
  byTag: V,
  opts: { description?: string } = {},
): Schema<VariantsOf<V>> & { readonly tags: readonly (keyof V & string)[] } {
  const tags = Object.keys(byTag) as (keyof V & string)[];
  const oneOfJson = tags.map((tag) => {
    const variant = byTag[tag]!.json;
    const required = (variant.required as string[] | undefined) ?? [];
    return {
      ...variant,
      properties: {
        [discriminator]: tag === fallback ? { enum: [tag, null] } : { const: tag },
        ...(variant.properties as JsonSchema),
      },
      required: tag === fallback ? required : [discriminator, ...required],
    };
  });
  return {
    tags,
    required: true,
    json: describe({ type: "object", oneOf: oneOfJson }, opts.description),
    parse(value, path) {
      if (typeof value !== "object" || value === null || Array.isArray(value))
        throw invalid(path || "body", "must be a JSON object");
      const raw = (value as Record<string, unknown>)[discriminator] ?? fallback;
      const at = joinPath(path, discriminator);
      if (typeof raw !== "string" || !tags.includes(raw))
        throw invalid(at, `must be one of ${tags.join(", ")}`);
      const variant = byTag[raw]!;
      const { [discriminator]: _tag, ...rest } = value as Record<string, unknown>;
      return { tag: raw, ...variant.parse(rest, path) } as VariantsOf<V>;
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
