/**
 * The layers import downward only (STYLE.md): the adapter sees the Socket.IO layer through its
 * contract (protocol/adapter/host.ts), never its modules; the engine knows neither layer above it;
 * protocol/ and db/ never import the application (src/). Imports are read from the source text, so
 * a type-only import counts too.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

/** Every TypeScript file under `dir` (relative to the repository root). */
function sourceFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.(ts|tsx|mts)$/.test(entry.name)) continue;
    found.push(relative(ROOT, join(entry.parentPath, entry.name)));
  }
  return found;
}

const SPECIFIER =
  /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*|\bexport\s*\*\s*from\s*)["']([^"']+)["']/g;

/** The repository paths a file imports (relative specifiers only; packages are not layers). */
function importsOf(file: string, text = readFileSync(join(ROOT, file), "utf8")): string[] {
  const paths: string[] = [];
  for (const match of text.matchAll(SPECIFIER)) {
    const specifier = match[1]!;
    if (!specifier.startsWith(".")) continue;
    paths.push(relative(ROOT, resolve(join(ROOT, dirname(file)), specifier)));
  }
  return paths;
}

interface Rule {
  from: string;
  forbidden: string;
}

const RULES: Rule[] = [
  { from: "protocol/adapter/", forbidden: "protocol/socketio/" },
  { from: "protocol/engine/", forbidden: "protocol/socketio/" },
  { from: "protocol/engine/", forbidden: "protocol/adapter/" },
  { from: "protocol/", forbidden: "src/" },
  { from: "db/", forbidden: "src/" },
];

function violations(rule: Rule): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(rule.from)) {
    for (const target of importsOf(file)) {
      if (`${target}/`.startsWith(rule.forbidden)) found.push(`${file} imports ${target}`);
    }
  }
  return found;
}

describe("layering", () => {
  for (const rule of RULES) {
    test(`${rule.from} does not import ${rule.forbidden}`, () => {
      expect(violations(rule)).toEqual([]);
    });
  }

  test("the import reader sees every form of import", () => {
    const text = [
      'import type { A } from "../socketio/a.ts";',
      "import {\n  b,\n  c,\n} from '../socketio/b.ts';",
      'export * from "../socketio/c.ts";',
      'export { d } from "../socketio/d.ts";',
      'import "../socketio/e.ts";',
      'const f = await import("../socketio/f.ts");',
      'import x from "socket.io-parser";',
    ].join("\n");
    expect(importsOf("protocol/adapter/x.ts", text)).toEqual(
      ["a", "b", "c", "d", "e", "f"].map((n) => `protocol/socketio/${n}.ts`),
    );
  });

  test("the rules are not vacuous: the adapter's real imports are read", () => {
    expect(importsOf("protocol/adapter/adapter.ts")).toContain("protocol/engine/contract.ts");
  });
});
