/**
 * The OpenAPI document and the server's validation are the same thing: for the send-message body,
 * the message-list query, the sandbox body and the user administration bodies, every input the
 * published JSON Schema (read from the document, evaluated per the JSON Schema specification by
 * support/json-schema.ts) rejects is refused with a 400 naming a field, and every input it accepts
 * passes validation. Generated inputs run against the parsers the handlers call; a sample of each
 * kind then goes over HTTP.
 *
 * Inputs stay inside what JSON Schema can say (src/http/schema.ts, header): no characters outside
 * the BMP (JSON Schema counts code points, the server UTF-16 units) and no control characters
 * where they would change a length at its limit or a pattern's verdict (the server measures text
 * after the text rule removed them).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { HttpError } from "../../src/http/errors.ts";
import { buildOpenApiDocument } from "../../src/http/openapi/document.ts";
import {
  CHANGE_PASSWORD_BODY,
  CREATE_USER_BODY,
  MESSAGE_LIST_QUERY,
  RESET_PASSWORD_BODY,
  SEND_MESSAGE_BODY,
  SIMULATED_CUSTOMER_BODY,
  UPDATE_USER_BODY,
} from "../../src/http/openapi/routes.ts";
import { parseIdempotencyKey, parseOutgoing } from "../../src/http/routes/conversations.ts";
import { parseQuery } from "../../src/http/schema.ts";
import { USER_ADMIN_ERRORS, UserAdminError } from "../../src/services/user-admin.ts";
import type { ApiError, SendMessageResponse } from "../../src/shared/api.ts";
import { MESSAGE_TYPES } from "../../src/shared/events.ts";
import { type Harness, startHarness } from "../chat/harness.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { queryValue, validates } from "./support/json-schema.ts";

type Json = Record<string, unknown>;
const RUNS = 2000;

const doc = buildOpenApiDocument();
const paths = doc.paths as Record<string, Record<string, Json>>;
const bodySchema = (path: string, method: string): Json =>
  ((paths[path]![method]!.requestBody as Json).content as Record<string, { schema: Json }>)[
    "application/json"
  ]!.schema;
const queryParams = (path: string, method: string): Record<string, Json> =>
  Object.fromEntries(
    ((paths[path]![method]!.parameters as Json[]) ?? [])
      .filter((p) => p.in === "query")
      .map((p) => [p.name as string, p.schema as Json]),
  );

const SEND = bodySchema("/api/v1/conversations/{id}/messages", "post");
const LIST = queryParams("/api/v1/conversations/{id}/messages", "get");
const SANDBOX = bodySchema("/api/v1/sandbox/customer-messages", "post");
const CREATE_USER = bodySchema("/api/v1/users", "post");
const UPDATE_USER = bodySchema("/api/v1/users/{id}", "patch");
const RESET_PASSWORD = bodySchema("/api/v1/users/{id}/password", "post");
const CHANGE_PASSWORD = bodySchema("/api/v1/auth/password", "post");

/** What validation said: accepted, or refused with a 400 naming `field`. Anything else is a bug. */
type Verdict = { ok: true } | { ok: false; field: string };
function verdictOf(parse: () => unknown): Verdict {
  try {
    parse();
    return { ok: true };
  } catch (err) {
    if (err instanceof HttpError && err.status === 400 && err.field) return { ok: false, field: err.field };
    const refusal = [USER_ADMIN_ERRORS.validation, USER_ADMIN_ERRORS.weakPassword] as string[];
    if (err instanceof UserAdminError && refusal.includes(err.code) && err.field)
      return { ok: false, field: err.field };
    throw err;
  }
}

/** The handler's order: the idempotency key (no header here), then the body by its message_type. */
const sendVerdict = (body: Json) =>
  verdictOf(() => {
    parseIdempotencyKey(undefined, body.client_message_id);
    parseOutgoing(body);
  });

/** The message list's query as the document reads it: each parameter by its schema, `after` not with `before`. */
function listAcceptedByDocument(query: Record<string, string | undefined>): boolean {
  // The server reads an empty value as absent (`?limit=`), as form parameters without allowEmptyValue are.
  const present = Object.entries(query).filter(([, v]) => v !== undefined && v !== "") as [string, string][];
  const each = present.every(([name, raw]) => validates(LIST[name]!, queryValue(LIST[name]!, raw)));
  const names = present.map(([name]) => name);
  return each && !(names.includes("before") && names.includes("after"));
}
const listVerdict = (query: Record<string, string | undefined>) =>
  verdictOf(() => parseQuery(MESSAGE_LIST_QUERY, (name) => query[name]));

/** Agreement for one input; a refusal must name a field of the input (or `body`). */
function agree(schema: Json, value: Json, verdict: Verdict, fields: readonly string[]): void {
  const documented = validates(schema, value);
  const where = JSON.stringify(value).slice(0, 300);
  expect({ where, documented }).toEqual({ where, documented: verdict.ok });
  if (!verdict.ok) expect(fields).toContain(verdict.field.split(/[.[]/)[0]!);
}

// ── inputs ──────────────────────────────────────────────────────────────────────────────────────

const UUID = "6f1c1a5e-4a8b-4c39-9d3e-2b7c0f6a9e11";
const oddValue = fc.constantFrom<unknown>(null, 0, 5, -1, 1.5, true, false, [], {}, ["a"], { text: "x" });
const textValue = fc.constantFrom(
  "hello",
  "",
  " ",
  " \t\r\n ",
  "\u0007\u001b",
  "\u00a0\ufeff",
  "a\u0000b",
  "lone \ud800 half",
  "tab\there",
  "x".repeat(16),
  "x".repeat(17),
  "x".repeat(255),
  "x".repeat(256),
  "x".repeat(1024),
  "x".repeat(1025),
  "x".repeat(2049),
  "x".repeat(4096),
  "x".repeat(4097),
);
const urlValue = fc.constantFrom(
  "http://example.com/a.png",
  "HTTPS://cdn.example.com/x",
  "https://",
  "ftp://example.com/a",
  "http://a b",
  "example.com/a.png",
  `https://x.example/${"p".repeat(2040)}`,
);
const idValue = fc.oneof(fc.uuid(), fc.constantFrom(UUID.toUpperCase(), "not-a-uuid", `${UUID}x`, ""));
const keyValue = fc.constantFrom<unknown>(
  "key-1",
  "client:42.a_b",
  "",
  "bad key",
  "é",
  "x".repeat(128),
  "x".repeat(129),
  7,
  null,
);
const anyValue = fc.oneof(textValue, urlValue, idValue, oddValue);
/** Mostly `good`, sometimes `other`: enough inputs pass every field for acceptance to be tested too. */
const mostly = <T, U>(good: fc.Arbitrary<T>, other: fc.Arbitrary<U>) =>
  fc.oneof({ weight: 4, arbitrary: good as fc.Arbitrary<T | U> }, { weight: 1, arbitrary: other });

const contentValue = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        text: fc.oneof(textValue, oddValue),
        media_id: fc.oneof(idValue, oddValue),
        url: fc.oneof(urlValue, oddValue),
        caption: fc.oneof(textValue, oddValue),
        filename: fc.oneof(textValue, oddValue),
        template_name: fc.oneof(textValue, oddValue),
        language: fc.oneof(textValue, oddValue),
        parameters: fc.oneof(
          fc.array(fc.oneof(textValue, oddValue), { maxLength: 3 }),
          fc.constantFrom<unknown>(Array(50).fill("p"), Array(51).fill("p"), "p", null),
        ),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: oddValue },
);
const sendBody = fc.record(
  {
    message_type: fc.constantFrom<unknown>(
      "text",
      "image",
      "video",
      "audio",
      "document",
      "template",
      "sticker",
      null,
      5,
    ),
    client_message_id: keyValue,
    content: contentValue,
    extra: anyValue,
  },
  { requiredKeys: [] },
);

const queryRaw = fc.constantFrom(
  undefined,
  "",
  "0",
  "1",
  "007",
  "50",
  "100",
  "101",
  "-1",
  "1.5",
  "1e3",
  " 1",
  "abc",
  "2147483647",
  "2147483648",
  "99999999999999999999",
  UUID,
  UUID.toUpperCase(),
  `${UUID}x`,
);
const listQuery = fc.record({ limit: queryRaw, before: queryRaw, after: queryRaw });

const phoneValue = fc.constantFrom(
  "+15550001111",
  "+1 (555) 000-1111",
  "1.555.000.1111",
  "12345",
  "123456",
  "1234567890123456",
  "+1555000111a",
  "--123456--",
  "+1 555 000 1111 0000 0000 0000 00",
);
const sandboxBody = fc.record(
  {
    from: mostly(phoneValue, fc.oneof(textValue, oddValue)),
    name: mostly(fc.constantFrom("Ann", " Ann B. "), fc.oneof(textValue, oddValue)),
    text: mostly(fc.constantFrom("hello", "two\nlines"), fc.oneof(textValue, oddValue)),
  },
  { requiredKeys: [] },
);

const emailValue = fc.constantFrom<unknown>(
  "agent@a.test",
  "  Mixed.Case@Example.COM ",
  "not-an-email",
  "a@b",
  "a b@c.de",
  "a\u0007@b.co",
  "a@@b.co",
  `${"x".repeat(300)}@b.co`,
  `${"x".repeat(320)}@b.co`,
  "",
  null,
  5,
);
const nameValue = fc.constantFrom<unknown>(
  "N",
  " Ann ",
  "A\tB\r\nC",
  "Bell\u0007",
  "\u0007\u001b",
  "   ",
  "",
  "x".repeat(100),
  "x".repeat(101),
  null,
  5,
  true,
);
const roleValue = fc.constantFrom<unknown>("agent", "org_admin", "viewer", "boss", "", null, 5);
const passwordValue = fc.constantFrom<unknown>(
  "correct horse battery",
  "abcdabcdab",
  "abcdabcda",
  "abcdefghij\u0000",
  "abcd".repeat(256),
  "abcd".repeat(257),
  "",
  null,
  42,
);
const createBody = fc.record(
  {
    email: mostly(fc.constantFrom("agent@a.test"), emailValue),
    name: mostly(fc.constantFrom("N", "Ann Smith"), nameValue),
    role: mostly(fc.constantFrom("agent"), roleValue),
    password: mostly(fc.constantFrom("correct horse battery"), passwordValue),
    extra: anyValue,
  },
  { requiredKeys: [] },
);
const goodPassword = fc.constantFrom("correct horse battery", "abcdabcdab");
const updateBody = fc.record(
  {
    name: mostly(fc.constantFrom("New Name"), nameValue),
    role: mostly(fc.constantFrom("viewer", "agent"), roleValue),
    active: mostly(fc.boolean(), fc.constantFrom<unknown>("no", 0, null)),
    email: fc.constant("x@y.z"),
  },
  { requiredKeys: [] },
);
const resetBody = fc.record(
  { password: mostly(goodPassword, passwordValue), extra: anyValue },
  { requiredKeys: [] },
);
const changeBody = fc.record(
  {
    current_password: mostly(fc.constantFrom("old", " "), fc.constantFrom<unknown>("", null, 5)),
    new_password: mostly(goodPassword, passwordValue),
  },
  { requiredKeys: [] },
);

// ── the parsers against the document ───────────────────────────────────────────────────────────

/** Runs `check` over generated inputs and makes sure both answers were seen often enough to mean something. */
function both<T>(arb: fc.Arbitrary<T>, accepted: (v: T) => boolean, check: (v: T) => void): void {
  let yes = 0;
  fc.assert(
    fc.property(arb, (v) => {
      check(v);
      if (accepted(v)) yes++;
    }),
    { numRuns: RUNS },
  );
  expect(yes).toBeGreaterThan(RUNS / 50);
  expect(yes).toBeLessThan(RUNS - RUNS / 50);
}

describe("the published request schemas are the server's validation", () => {
  test("send message: every message_type's content, the idempotency key, unknown fields", () => {
    expect(SEND_MESSAGE_BODY.tags).toEqual([...MESSAGE_TYPES]);
    both(
      sendBody,
      (b) => validates(SEND, b),
      (b) => agree(SEND, b, sendVerdict(b), ["message_type", "content", "client_message_id"]),
    );
  });

  test("message list query: limit, before, and after as a seq or a message id, not with before", () => {
    both(listQuery, listAcceptedByDocument, (q) => {
      const verdict = listVerdict(q);
      const where = JSON.stringify(q);
      expect({ where, documented: listAcceptedByDocument(q) }).toEqual({ where, documented: verdict.ok });
      if (!verdict.ok) expect(["limit", "before", "after"]).toContain(verdict.field);
    });
  });

  test("sandbox customer message: from (a phone number), name, text", () => {
    both(
      sandboxBody,
      (b) => validates(SANDBOX, b),
      (b) =>
        agree(
          SANDBOX,
          b,
          verdictOf(() => SIMULATED_CUSTOMER_BODY.parse(b, "")),
          ["from", "name", "text"],
        ),
    );
  });

  test("user administration: create, update (closed, at least one field), reset and change password", () => {
    both(
      createBody,
      (b) => validates(CREATE_USER, b),
      (b) =>
        agree(
          CREATE_USER,
          b,
          verdictOf(() => CREATE_USER_BODY.parse(b, "")),
          ["email", "name", "role", "password"],
        ),
    );
    both(
      updateBody,
      (b) => validates(UPDATE_USER, b),
      (b) =>
        agree(
          UPDATE_USER,
          b,
          verdictOf(() => UPDATE_USER_BODY.parse(b, "")),
          ["name", "role", "active", "email", "body"],
        ),
    );
    both(
      resetBody,
      (b) => validates(RESET_PASSWORD, b),
      (b) =>
        agree(
          RESET_PASSWORD,
          b,
          verdictOf(() => RESET_PASSWORD_BODY.parse(b, "")),
          ["password"],
        ),
    );
    both(
      changeBody,
      (b) => validates(CHANGE_PASSWORD, b),
      (b) =>
        agree(
          CHANGE_PASSWORD,
          b,
          verdictOf(() => CHANGE_PASSWORD_BODY.parse(b, "")),
          ["current_password", "new_password"],
        ),
    );
  });
});

// ── the same over HTTP ──────────────────────────────────────────────────────────────────────────

describe("over HTTP, a body the document rejects is a 400 naming the field, one it accepts is taken", () => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    const [pglite] = await backends();
    h = await startHarness(pglite!);
    admin = await h.token(h.fx.admin);
  }, SETUP_TIMEOUT_MS);
  afterAll(() => h?.close(), SETUP_TIMEOUT_MS);

  const call = (path: string, method: string, body: unknown) =>
    h.api(path, { method, body: JSON.stringify(body), token: admin });

  async function expectAgreement(schema: Json, res: Response, body: Json, okStatus: number): Promise<void> {
    const where = JSON.stringify(body).slice(0, 200);
    if (validates(schema, body)) {
      expect({ where, status: res.status }).toEqual({ where, status: okStatus });
      return;
    }
    const { error } = (await res.json()) as ApiError;
    expect({ where, status: res.status, named: typeof error.field }).toEqual({
      where,
      status: 400,
      named: "string",
    });
  }

  test("send message", async () => {
    const path = `/api/v1/conversations/${h.fx.convAssigned.id}/messages`;
    const bodies: Json[] = [
      { content: { text: "hi" } },
      { message_type: null, content: { text: "null type is text" } },
      { message_type: "image", content: { url: "https://example.com/a.png", caption: "c" } },
      { message_type: "audio", content: { url: "https://example.com/a.ogg", caption: 5 } },
      { message_type: "template", content: { template_name: "hello", parameters: ["a", "b"] } },
      { content: { text: "x".repeat(4097) } },
      { message_type: "image", content: { media_id: "nope", url: "https://example.com/a.png" } },
      { message_type: "video", content: {} },
      { message_type: "template", content: { template_name: "t", parameters: [1] } },
      { message_type: "sticker", content: { text: "x" } },
      { content: { text: "x" }, client_message_id: "bad key" },
    ];
    for (const body of bodies) await expectAgreement(SEND, await call(path, "POST", body), body, 201);
  });

  test("message list: after as a seq and as a message id", async () => {
    const id = h.fx.convQueue.id;
    const path = `/api/v1/conversations/${id}/messages`;
    const sent: SendMessageResponse[] = [];
    for (const text of ["one", "two", "three"])
      sent.push((await (await call(path, "POST", { content: { text } })).json()) as SendMessageResponse);
    const [first, second, third] = sent.map((s) => s.message) as [
      SendMessageResponse["message"],
      SendMessageResponse["message"],
      SendMessageResponse["message"],
    ];
    const pageAfter = async (after: string) => {
      expect(listAcceptedByDocument({ after })).toBe(true);
      const res = await h.api(`${path}?after=${after}`, { token: admin });
      expect(res.status).toBe(200);
      return ((await res.json()) as { data: { seq: number }[] }).data.map((m) => m.seq);
    };
    const bySeq = await pageAfter(String(first.seq));
    expect(bySeq).toContain(second.seq);
    expect(bySeq).toContain(third.seq);
    expect(bySeq.every((seq) => seq > first.seq)).toBe(true);
    expect(await pageAfter(first.id)).toEqual(bySeq);
    expect(await pageAfter(second.id.toUpperCase())).toEqual(bySeq.filter((seq) => seq > second.seq));
    const refused: Record<string, string>[] = [
      { after: "abc" },
      { after: "-1" },
      { before: "3", after: "1" },
      { limit: "101" },
    ];
    for (const query of refused) {
      expect(listAcceptedByDocument(query)).toBe(false);
      const res = await h.api(`${path}?${new URLSearchParams(query)}`, { token: admin });
      expect(res.status).toBe(400);
      expect(((await res.json()) as ApiError).error.field).toBe(Object.keys(query).at(-1)!);
    }
    // The document cannot know which ids exist: a well-formed id of no message here is refused by the data.
    expect(listAcceptedByDocument({ after: UUID })).toBe(true);
    const unknown = await h.api(`${path}?after=${UUID}`, { token: admin });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as ApiError).error.message).toContain("is not the id of a message");
  });

  test("sandbox customer message", async () => {
    const bodies: Json[] = [
      { from: "+1 (555) 000-7777", name: "Ann", text: "hello" },
      { from: "+15550007777", name: null, text: "again" },
      { from: "12345", text: "too short" },
      { from: "+15550007777", text: " " },
      { from: "+15550007777", name: "x".repeat(257), text: "long name" },
    ];
    for (const body of bodies)
      await expectAgreement(
        SANDBOX,
        await call("/api/v1/sandbox/customer-messages", "POST", body),
        body,
        201,
      );
  });

  test("user administration", async () => {
    let n = 0;
    const email = () => `agreement-${++n}@a.test`;
    const creates: Json[] = [
      { email: email(), name: "Ann\u0007", role: "agent" },
      { email: email(), name: "Bob", role: "viewer", password: "correct horse battery" },
      { email: email(), name: "\u0007", role: "agent" },
      { email: email(), name: "Cy", role: "boss" },
      { email: "a b@c.de", name: "Ed", role: "agent" },
    ];
    for (const body of creates)
      await expectAgreement(CREATE_USER, await call("/api/v1/users", "POST", body), body, 201);
    const target = `/api/v1/users/${h.fx.agent2.id}`;
    const updates: Json[] = [
      { name: "Agent Two" },
      { role: "boss" },
      {},
      { email: "x@y.z" },
      { name: null },
      { active: "no" },
    ];
    for (const body of updates)
      await expectAgreement(UPDATE_USER, await call(target, "PATCH", body), body, 200);
    const resets: Json[] = [{ password: "short" }, { password: 42 }, { password: "abcd".repeat(257) }];
    for (const body of resets)
      await expectAgreement(RESET_PASSWORD, await call(`${target}/password`, "POST", body), body, 200);
    // The one rule the document states without a pattern (a backreference pattern for it would
    // backtrack for seconds on 1 KB): fewer than 4 different characters is weak_password.
    for (const password of ["aaaaaaaaaaaa", "abcabcabcabc"]) {
      expect(validates(RESET_PASSWORD, { password })).toBe(true);
      const res = await call(`${target}/password`, "POST", { password });
      expect(res.status).toBe(400);
      expect(((await res.json()) as ApiError).error.code).toBe("weak_password");
    }
    const create = { email: email(), name: "Di", role: "agent", password: "abcabcabcabc" };
    const refused = await call("/api/v1/users", "POST", create);
    expect(((await refused.json()) as ApiError).error.code).toBe("weak_password");
  });
});
