/**
 * The docs list what the code defines: every environment variable the server reads is in
 * docs/configuration.md, every Socket.IO event of src/shared/events.ts in docs/events.md, every REST
 * route of the Hono app in docs/rest-api.md, and every link of the README into docs/ resolves.
 * A failure names what is missing, so a new variable, event or route fails here until documented.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createHttpApp } from "../../src/http/app.ts";
import { type Harness, startHarness } from "../chat/harness.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { CONFIG_SOURCES, envVarsReadBy, eventsOf, ROOT, type Route, read, routesOf } from "./names.ts";

describe("docs/configuration.md", () => {
  const doc = read("docs/configuration.md");
  for (const source of CONFIG_SOURCES)
    test(`lists every variable ${source} reads`, () => {
      const names = envVarsReadBy(source);
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((name) => !doc.includes(`\`${name}\``))).toEqual([]);
    });

  test("src/config.ts's variables are found (the scan sees the config reader's calls)", () => {
    const names = envVarsReadBy("src/config.ts");
    for (const known of [
      "NODE_ENV",
      "PORT",
      "DATABASE_URL",
      "JWT_SECRET",
      "WEB_DIST_DIR",
      "METRICS_TOKEN",
      "METRICS_PORT",
    ])
      expect(names).toContain(known);
  });
});

describe("docs/events.md", () => {
  const doc = read("docs/events.md");
  for (const iface of ["ClientToServerEvents", "ServerToClientEvents"])
    test(`lists every event of ${iface}`, () => {
      const events = eventsOf(iface);
      expect(events.length).toBeGreaterThan(3);
      // `name` alone, or `name {payload}` as the tables write answers.
      const listed = (name: string) => doc.includes(`\`${name}\``) || doc.includes(`\`${name} {`);
      expect(events.filter((name) => !listed(name))).toEqual([]);
    });
});

describe("docs/rest-api.md", () => {
  let h: Harness;
  let routes: Route[];
  beforeAll(async () => {
    const [pglite] = await backends();
    h = await startHarness(pglite!);
    routes = routesOf(createHttpApp(h.server.ctx));
  }, SETUP_TIMEOUT_MS);
  afterAll(() => h?.close());

  test("lists every route of the Hono app as `METHOD /path`", () => {
    const doc = read("docs/rest-api.md");
    expect(routes.length).toBeGreaterThan(5);
    const missing = routes.map((r) => `${r.method} ${r.path}`).filter((route) => !doc.includes(`\`${route}`));
    expect(missing).toEqual([]);
  });
});

describe("README", () => {
  const readme = read("README.md");

  test("every link into docs/ (and to other files) resolves", () => {
    const links = [...readme.matchAll(/\]\(((?!https?:|#)[^)#\s]+)(?:#[^)]*)?\)/g)].map(
      (m) => m[1] as string,
    );
    expect(links.filter((link) => link.startsWith("docs/")).length).toBeGreaterThanOrEqual(7);
    expect(links.filter((link) => !existsSync(join(ROOT, link)))).toEqual([]);
  });

  test("every docs/ page links only to files that exist", () => {
    const pages = readdirSync(join(ROOT, "docs")).filter((name) => name.endsWith(".md"));
    expect(pages.length).toBeGreaterThanOrEqual(8);
    for (const page of pages) {
      const text = read(`docs/${page}`);
      const links = [...text.matchAll(/\]\(((?!https?:|#|mailto:)[^)#\s]+)(?:#[^)]*)?\)/g)].map(
        (m) => m[1] as string,
      );
      const missing = links.filter((link) => !existsSync(join(ROOT, "docs", link)));
      expect({ page, missing }).toEqual({ page, missing: [] });
    }
  });

  test("every docs/ page is in the README's table of contents", () => {
    const pages = readdirSync(join(ROOT, "docs")).filter((name) => name.endsWith(".md"));
    expect(pages.filter((page) => !readme.includes(`](docs/${page})`))).toEqual([]);
  });

  test("stays a front door (at most 200 lines)", () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(200);
  });
});
