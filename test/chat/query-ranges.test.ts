/**
 * Every numeric and date query parameter and cursor is range-checked before the database sees it:
 * a value the columns cannot hold is a 400 `validation_error` naming the parameter, never a database
 * error or a 500. Known cases first, then a fast-check property over arbitrary inputs with an
 * independent oracle (BigInt arithmetic on the decimal text).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { encodeListCursor } from "../../src/services/conversations.ts";
import type { ApiError } from "../../src/shared/api.ts";
import { MAX_DATE_MS, PG_INT_MAX } from "../../src/shared/ranges.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { type Harness, startHarness } from "./harness.ts";

/** The oracle: absent/empty, or decimal digits whose exact value is within [min, max]. */
function acceptedInt(value: string, min: number, max: number): boolean {
  if (value === "") return true;
  if (!/^-?\d+$/.test(value)) return false;
  const n = BigInt(value);
  return n >= BigInt(min) && n <= BigInt(max);
}

const integerText = fc.oneof(
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.integer({ min: -5, max: 200 }).map(String),
  fc.constantFrom("2147483647", "2147483648", "9007199254740991", "9007199254740993", "-0", "007", "-1"),
);
const junkText = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.double().map(String),
  fc.constantFrom("1e3", "0x10", " 1", "1 ", "1.0", "NaN", "Infinity", "+1", "１", "\ud800"),
);
const queryValue = fc.oneof(integerText, junkText);

const LIST_ID = "00000000-0000-4000-8000-000000000000";

for (const backend of await backends()) {
  describe(`query ranges on ${backend.name}`, () => {
    let h: Harness;
    let token: string;
    beforeAll(async () => {
      h = await startHarness(backend);
      token = await h.token(h.fx.admin);
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => h?.close(), SETUP_TIMEOUT_MS);

    const get = (path: string, params: Record<string, string>) =>
      h.api(`${path}?${new URLSearchParams(params)}`, { token });
    const messagesPath = () => `/api/v1/conversations/${h.fx.convAssigned.id}/messages`;
    /** 200, or 400 validation_error naming `field`; anything else fails. */
    const outcome = async (res: Response, field: string): Promise<"ok" | "refused"> => {
      if (res.status === 200) {
        await res.body?.cancel();
        return "ok";
      }
      expect(res.status).toBe(400);
      expect(((await res.json()) as ApiError).error).toMatchObject({ code: "validation_error", field });
      return "refused";
    };

    test.each([
      ["after", "2147483648"],
      ["after", "-1"],
      ["after", "abc"],
      ["before", "9007199254740991"],
      ["before", "0"],
      ["before", "1e3"],
      ["limit", "0"],
      ["limit", "101"],
      ["limit", "-5"],
      ["limit", "2.5"],
    ])("messages ?%s=%s is a 400 naming it", async (field, value) => {
      expect(await outcome(await get(messagesPath(), { [field]: value }), field)).toBe("refused");
    });

    test("the largest seq a column holds is accepted for after and before", async () => {
      expect(await outcome(await get(messagesPath(), { after: String(PG_INT_MAX) }), "after")).toBe("ok");
      expect(await outcome(await get(messagesPath(), { before: String(PG_INT_MAX) }), "before")).toBe("ok");
    });

    test("a list cursor dated in the year 275760, before 1970 or not a date is a 400; 9999-12-31 is fine", async () => {
      const list = (cursor: string) => get("/api/v1/conversations", { cursor });
      for (const t of [
        "+275760-09-13T00:00:00.000Z",
        "+010000-01-01T00:00:00.000Z",
        "1969-12-31T23:59:59.999Z",
        "soon",
      ])
        expect(await outcome(await list(encodeListCursor({ t, id: LIST_ID })), "cursor")).toBe("refused");
      expect(await outcome(await list("not-base64-json"), "cursor")).toBe("refused");
      const last = new Date(MAX_DATE_MS).toISOString();
      expect(await outcome(await list(encodeListCursor({ t: last, id: LIST_ID })), "cursor")).toBe("ok");
      expect(await outcome(await list(encodeListCursor({ t: null, id: LIST_ID })), "cursor")).toBe("ok");
    });

    test("property: any after, before or limit is answered 200 exactly when in range, else 400 naming it", async () => {
      const ranges = { after: [0, PG_INT_MAX], before: [1, PG_INT_MAX], limit: [1, 100] } as const;
      await fc.assert(
        fc.asyncProperty(fc.constantFrom("after", "before", "limit"), queryValue, async (field, value) => {
          // A well-formed UUID in `after` is a message id: out of this property's scope.
          fc.pre(!/^[0-9a-f-]{36}$/i.test(value));
          const [min, max] = ranges[field];
          // URLSearchParams sends a lone surrogate as U+FFFD: the oracle judges what the server receives.
          const sent = value.toWellFormed();
          const got = await outcome(await get(messagesPath(), { [field]: value }), field);
          expect(got).toBe(acceptedInt(sent, min, max) ? "ok" : "refused");
        }),
        { numRuns: 150 },
      );
    });

    test("property: any list cursor date is answered 200 exactly when 1970..9999, else 400", async () => {
      const anyDate = fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true });
      await fc.assert(
        fc.asyncProperty(anyDate, fc.uuid(), async (date, id) => {
          const ms = date.getTime();
          const cursor = encodeListCursor({ t: date.toISOString(), id });
          const got = await outcome(await get("/api/v1/conversations", { cursor }), "cursor");
          expect(got).toBe(ms >= 0 && ms <= MAX_DATE_MS ? "ok" : "refused");
        }),
        { numRuns: 100 },
      );
    });
  });
}
