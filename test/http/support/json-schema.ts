/**
 * A JSON Schema (draft 2020-12) evaluator for the keywords the route table publishes, written for
 * the tests that hold the OpenAPI document against the server's validation. It follows the
 * specification where they could differ: lengths count code points, `pattern` is an unanchored
 * ECMA-262 search with the `u` flag, `format` is an annotation (not asserted). A keyword it does not
 * know fails loudly, so a schema can never pass here by being misunderstood.
 */
type Json = Record<string, unknown>;

const ANNOTATIONS = new Set(["description", "format", "default", "title", "examples", "deprecated"]);
const KEYWORDS = new Set([
  "type",
  "enum",
  "const",
  "minLength",
  "maxLength",
  "pattern",
  "minimum",
  "maximum",
  "properties",
  "required",
  "additionalProperties",
  "minProperties",
  "items",
  "maxItems",
  "oneOf",
  "anyOf",
  "allOf",
  "not",
]);

const typeOf = (v: unknown): string => {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
};

const isType = (v: unknown, type: string): boolean => {
  const actual = typeOf(v);
  return actual === type || (type === "number" && actual === "integer");
};

const equal = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** True when `value` is valid against `schema`. */
export function validates(schema: Json | boolean, value: unknown): boolean {
  if (schema === true) return true;
  if (schema === false) return false;
  for (const key of Object.keys(schema))
    if (!KEYWORDS.has(key) && !ANNOTATIONS.has(key)) throw new Error(`json-schema: unknown keyword "${key}"`);
  const s = schema;
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => isType(value, t))) return false;
  }
  if (s.enum !== undefined && !(s.enum as unknown[]).some((e) => equal(e, value))) return false;
  if (s.const !== undefined && !equal(s.const, value)) return false;
  if (typeof value === "string") {
    const length = [...value].length;
    if (s.minLength !== undefined && length < (s.minLength as number)) return false;
    if (s.maxLength !== undefined && length > (s.maxLength as number)) return false;
    if (s.pattern !== undefined && !new RegExp(s.pattern as string, "u").test(value)) return false;
  }
  if (typeof value === "number") {
    if (s.minimum !== undefined && value < (s.minimum as number)) return false;
    if (s.maximum !== undefined && value > (s.maximum as number)) return false;
  }
  if (typeOf(value) === "object") {
    const obj = value as Json;
    const props = (s.properties as Record<string, Json>) ?? {};
    for (const name of (s.required as string[]) ?? []) if (!(name in obj)) return false;
    for (const [name, v] of Object.entries(obj)) {
      if (name in props) {
        if (!validates(props[name]!, v)) return false;
      } else if (s.additionalProperties !== undefined && !validates(s.additionalProperties as Json, v))
        return false;
    }
    if (s.minProperties !== undefined && Object.keys(obj).length < (s.minProperties as number)) return false;
  }
  if (Array.isArray(value)) {
    if (s.maxItems !== undefined && value.length > (s.maxItems as number)) return false;
    if (s.items !== undefined && !value.every((item) => validates(s.items as Json, item))) return false;
  }
  if (s.allOf !== undefined && !(s.allOf as Json[]).every((sub) => validates(sub, value))) return false;
  if (s.anyOf !== undefined && !(s.anyOf as Json[]).some((sub) => validates(sub, value))) return false;
  if (s.oneOf !== undefined && (s.oneOf as Json[]).filter((sub) => validates(sub, value)).length !== 1)
    return false;
  if (s.not !== undefined && validates(s.not as Json, value)) return false;
  return true;
}

/**
 * A query string's value as an OpenAPI `form` parameter of `schema` reads it: digits are an
 * integer when the schema admits one, anything else stays a string.
 */
export function queryValue(schema: Json, raw: string): unknown {
  const admitsInteger = JSON.stringify(schema).includes('"integer"');
  return admitsInteger && /^-?\d+$/.test(raw) ? Number(raw) : raw;
}
