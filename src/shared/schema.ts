/**
 * The shape of a validating schema (src/http/schema.ts builds them): one declaration that both
 * parses an input and publishes its JSON Schema. Defined here, without imports, so a service that
 * owns a rule shared beyond HTTP (src/services/user-admin.ts, used by the CLI too) can declare its
 * fields in this shape, throwing its own errors, and the route table composes them.
 */

/** A JSON Schema (draft 2020-12, as OpenAPI 3.1 uses it). */
export type JsonSchema = Record<string, unknown>;

export interface Schema<T> {
  readonly json: JsonSchema;
  /** False when the field may be absent (`optional()`). */
  readonly required: boolean;
  /** As a query or header parameter, where null cannot occur: the JSON of a present value. Default `json`. */
  readonly paramJson?: JsonSchema;
  /** Validates `value` found at `path` ("email", "content.text", "limit"); throws a 400-kind error naming it. */
  parse(value: unknown, path: string): T;
}

/** A required field of the given JSON Schema, checked by `parse`. */
export const field = <T>(json: JsonSchema, parse: (value: unknown, path: string) => T): Schema<T> => ({
  json,
  required: true,
  parse,
});

/**
 * Patterns (ECMA-262 with the `u` flag, as the server runs them and JSON Schema validators do) that
 * the published schemas and the parsers share.
 */
export const PATTERNS = {
  uuid: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
  /** At least one character that the text rule (src/shared/text.ts) neither removes nor trims. */
  nonBlank: "[^\\s\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]",
  /** Decimal digits only. */
  digits: "^\\d+$",
} as const;
