/**
 * The OpenAPI 3.1 document at /api/v1/openapi.json: well formed (every operation answered and
 * described, every path parameter declared, every $ref resolves, operation ids unique), it lists
 * exactly the routes of the Hono app (a route added without an entry in src/http/openapi/routes.ts
 * fails here, named), its request schemas are the ones the server validates with, and the reference
 * page at /api/docs is served locally with nothing loaded from another host.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHttpApp } from "../../src/http/app.ts";
import { openApiPath } from "../../src/http/openapi/document.ts";
import { API_ROUTES } from "../../src/http/openapi/routes.ts";
import { type Harness, startHarness } from "../chat/harness.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { routesOf } from "../docs/names.ts";

type Json = Record<string, unknown>;
const METHODS = ["get", "post", "put", "patch", "delete"];

describe("OpenAPI document", () => {
  let h: Harness;
  let doc: Json;
  let paths: Record<string, Record<string, Json>>;

  beforeAll(async () => {
    const [pglite] = await backends();
    h = await startHarness(pglite!);
    const res = await fetch(`${h.url}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    doc = (await res.json()) as Json;
    paths = doc.paths as typeof paths;
  }, SETUP_TIMEOUT_MS);
  afterAll(() => h?.close());

  test("every published pattern is free of backreferences and lookarounds (no catastrophic backtracking)", () => {
    // A gateway or client that validates requests against this document runs these patterns on
    // whatever it is sent: each must be a plain regular expression, linear to match.
    const patterns: string[] = [];
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) for (const item of node) collect(item);
      else if (node !== null && typeof node === "object")
        for (const [key, value] of Object.entries(node)) {
          if (key === "pattern" && typeof value === "string") patterns.push(value);
          else collect(value);
        }
    };
    collect(doc);
    expect(patterns.length).toBeGreaterThan(3);
    expect(patterns.filter((p) => /\\[1-9]|\(\?[=!<]/.test(p))).toEqual([]);
  });

  test("is OpenAPI 3.1 with info, paths, components and the bearer scheme", () => {
    expect(doc.openapi).toBe("3.1.0");
    const info = doc.info as Json;
    expect(info.title).toBeString();
    expect(info.version).toBeString();
    expect(Object.keys(paths).length).toBeGreaterThan(5);
    const components = doc.components as Json;
    expect((components.securitySchemes as Json).bearer).toEqual({
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
    });
  });

  test("every operation has a unique id, a known tag, described answers and its path parameters", () => {
    const ids = new Set<string>();
    const tags = new Set(((doc.tags as Json[]) ?? []).map((t) => t.name));
    for (const [path, item] of Object.entries(paths)) {
      expect(path.startsWith("/")).toBe(true);
      for (const [method, op] of Object.entries(item)) {
        expect(METHODS).toContain(method);
        const where = `${method} ${path}`;
        expect({ where, id: typeof op.operationId }).toEqual({ where, id: "string" });
        expect(ids.has(op.operationId as string)).toBe(false);
        ids.add(op.operationId as string);
        for (const tag of op.tags as string[]) expect(tags.has(tag)).toBe(true);
        const responses = Object.entries(op.responses as Record<string, Json>);
        expect(responses.length).toBeGreaterThan(0);
        for (const [status, response] of responses) {
          expect(status).toMatch(/^[1-5]\d\d$/);
          expect(response.description).toBeString();
        }
        const declared = ((op.parameters as Json[]) ?? []).filter((p) => p.in === "path").map((p) => p.name);
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        expect({ where, declared }).toEqual({ where, declared: inPath });
        for (const p of (op.parameters as Json[]) ?? []) {
          expect(["path", "query", "header", "cookie"]).toContain(p.in as string);
          expect(p.schema).toBeObject();
          if (p.in === "path") expect(p.required).toBe(true);
        }
      }
    }
  });

  test("every $ref resolves to a component schema", () => {
    const schemas = (doc.components as Json).schemas as Json;
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1] as string);
    expect(refs.length).toBeGreaterThan(5);
    const broken = refs.filter(
      (r) => !r.startsWith("#/components/schemas/") || !(r.split("/").pop()! in schemas),
    );
    expect(broken).toEqual([]);
  });

  test("lists exactly the routes of the Hono app", () => {
    const appRoutes = routesOf(createHttpApp(h.server.ctx)).map(
      (r) => `${r.method.toLowerCase()} ${openApiPath(r.path)}`,
    );
    const documented = Object.entries(paths).flatMap(([path, item]) =>
      Object.keys(item).map((m) => `${m} ${path}`),
    );
    expect(appRoutes.filter((r) => !documented.includes(r))).toEqual([]);
    expect(documented.filter((r) => !appRoutes.includes(r))).toEqual([]);
  });

  test("a body missing a required field is refused naming the field the document requires", async () => {
    const token = await h.token(h.fx.admin);
    for (const route of API_ROUTES.filter((r) => r.body && !r.path.includes(":"))) {
      const required = (route.body!.json.required as string[] | undefined) ?? [];
      if (required.length === 0) continue;
      const res = await fetch(`${h.url}${route.path}`, {
        method: route.method.toUpperCase(),
        headers: {
          "content-type": "application/json",
          ...(route.auth ? { authorization: `Bearer ${token}` } : {}),
        },
        body: "{}",
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; field: string } };
      expect({ route: route.path, error: body.error.code, field: body.error.field }).toEqual({
        route: route.path,
        error: "validation_error",
        field: required[0]!,
      });
    }
  });

  test("a malformed path parameter is refused naming it, before anything else is read", async () => {
    const token = await h.token(h.fx.admin);
    // User ids are the exception, on purpose: unknown, foreign and malformed are 404 alike (test/admin/users.test.ts).
    const routes = API_ROUTES.filter((r) => r.params && !r.path.startsWith("/api/v1/users/"));
    expect(routes.length).toBeGreaterThan(5);
    for (const route of routes) {
      const names = Object.keys(route.params!.shape);
      const res = await fetch(`${h.url}${route.path.replace(/:\w+/g, "nope")}`, {
        method: route.method.toUpperCase(),
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        ...(route.method === "get" ? {} : { body: "{}" }),
      });
      const body = (await res.json()) as { error: { code: string; field: string } };
      expect({
        route: route.path,
        status: res.status,
        error: body.error.code,
        field: body.error.field,
      }).toEqual({
        route: route.path,
        status: 400,
        error: "validation_error",
        field: names[0]!,
      });
    }
  });

  test("a query value out of the documented range is refused naming the parameter", async () => {
    const token = await h.token(h.fx.admin);
    const limit = paths["/api/v1/conversations"]!.get!.parameters as Json[];
    const max = (limit.find((p) => p.name === "limit")!.schema as Json).maximum as number;
    const res = await h.api(`/api/v1/conversations?limit=${max + 1}`, { token });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe("limit");
    expect((await h.api(`/api/v1/conversations?limit=${max}`, { token })).status).toBe(200);
  });

  test("the reference page is served locally and loads nothing from another host", async () => {
    const res = await fetch(`${h.url}/api/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain('fetch("/api/v1/openapi.json")');
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|cdn|unpkg|jsdelivr/i);
  });
});
