/** Hostile bodies on the administration and session endpoints: always a JSON answer, never a 5xx. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { type Harness, startHarness } from "../chat/harness.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";

const ALLOWED = new Set([200, 201, 204, 400, 401, 403, 404, 409, 413, 415, 429]);

const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "a\u0000b",
    "\ud800",
    "x".repeat(2000),
    "agent@a.test",
    "org_admin",
    "viewer",
  ),
);
const hostileValue = fc.oneof(hostileString, fc.integer(), fc.boolean(), fc.constant(null), fc.jsonValue());
const body = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        email: hostileValue,
        name: hostileValue,
        role: hostileValue,
        active: hostileValue,
        password: hostileValue,
        current_password: hostileValue,
        new_password: hostileValue,
        refresh_token: hostileValue,
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
);
const userId = fc.oneof(
  fc.uuid(),
  fc.constantFrom("x", "%00", "..", "1"),
  fc.string({ minLength: 1, maxLength: 10 }),
);

const [pglite] = await backends();

describe("administration endpoints under hostile input", () => {
  let h: Harness;
  let admin: string;

  beforeAll(async () => {
    h = await startHarness(pglite!);
    admin = await h.token(h.fx.admin);
  }, SETUP_TIMEOUT_MS);
  afterAll(() => h?.close(), SETUP_TIMEOUT_MS);

  test("every answer is an allowed status with a JSON error code; the server stays up", async () => {
    const route = fc.oneof(
      fc.constant(["POST", "/api/v1/users"] as const),
      userId.map((id) => ["PATCH", `/api/v1/users/${encodeURIComponent(id)}`] as const),
      userId.map((id) => ["POST", `/api/v1/users/${encodeURIComponent(id)}/password`] as const),
      fc.constant(["POST", "/api/v1/auth/password"] as const),
      fc.constant(["POST", "/api/v1/auth/logout"] as const),
      fc.constant(["POST", "/api/v1/auth/refresh"] as const),
    );
    await fc.assert(
      fc.asyncProperty(route, body, async ([method, path], payload) => {
        const res = await h.api(path, {
          method,
          body: payload,
          token: admin,
          headers: { "content-type": "application/json" },
        });
        const text = await res.text();
        if (!ALLOWED.has(res.status))
          throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
        if (res.status >= 400)
          expect(JSON.parse(text)).toMatchObject({ error: { code: expect.any(String) } });
      }),
      { numRuns: 150 },
    );
    expect((await h.api("/health")).status).toBe(200);
    // The fixture admin is still an active org_admin who can list users.
    expect((await h.api("/api/v1/users", { token: admin })).status).toBe(200);
  }, 120_000);
});
