/**
 * The names the docs must list, read from the code that defines them: the environment variables the
 * server reads, the Socket.IO events of the shared types, and the routes of the Hono app. One place,
 * so a new variable, event or route is found without registering it anywhere.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Hono } from "hono";

export const ROOT = join(import.meta.dir, "..", "..");
export const read = (path: string): string => readFileSync(join(ROOT, path), "utf8");

/**
 * Every NAME a file reads: a call whose first argument is an upper-case name (`str("NAME")`,
 * `int("NAME", …)`, `oneOf<…>("NAME", …)`, any new reader helper), `env.NAME`, `env["NAME"]`,
 * `process.env.NAME`.
 */
export function envVarsReadBy(path: string): string[] {
  const source = read(path);
  const names = new Set<string>();
  const patterns = [
    /\b[A-Za-z_]\w*(?:<[^>]*>)?\(\s*"([A-Z][A-Z0-9_]*)"/g,
    /\benv\.([A-Z][A-Z0-9_]*)\b/g,
    /\benv\[\s*"([A-Z][A-Z0-9_]*)"\s*\]/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) names.add(match[1] as string);
  return [...names].sort();
}

/** The files whose variables docs/configuration.md must list. */
export const CONFIG_SOURCES = ["src/config.ts", "src/cluster/config.ts", "protocol/logger.ts"];

/** Event names of an interface of src/shared/events.ts (`name:` or `"name:with:colons":` members). */
export function eventsOf(interfaceName: string): string[] {
  const source = read("src/shared/events.ts");
  const start = source.indexOf(`export interface ${interfaceName} {`);
  if (start < 0) throw new Error(`src/shared/events.ts has no interface ${interfaceName}`);
  const body = source.slice(start, source.indexOf("\n}", start));
  return [...body.matchAll(/^ {2}"?([\w:]+)"?\??\s*:/gm)].map((m) => m[1] as string);
}

export interface Route {
  method: string;
  path: string;
}

/** The REST routes of a Hono app: concrete methods and paths, without middleware and catch-alls. */
export function routesOf(app: Hono): Route[] {
  const seen = new Set<string>();
  const routes: Route[] = [];
  for (const { method, path } of app.routes) {
    if (method === "ALL" || path.includes("*")) continue;
    const key = `${method} ${path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    routes.push({ method, path });
  }
  return routes;
}
