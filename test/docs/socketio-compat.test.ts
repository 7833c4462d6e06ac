/**
 * docs/socketio-compat.md lists every public member of socket.io 4.8's Server, Namespace, Socket
 * and BroadcastOperator, every socket.io server option and every engine.io 6.6 option: this test
 * reads them from the installed socket.io and engine.io packages (their prototypes and type
 * declarations) and fails when the page leaves one out.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const DOC = readFileSync(join(ROOT, "docs/socketio-compat.md"), "utf8");
const require = createRequire(import.meta.url);
const SOCKET_IO = dirname(require.resolve("socket.io/package.json"));
const ENGINE_IO = dirname(require.resolve("engine.io/package.json", { paths: [SOCKET_IO] }));

/** Named in the page as code: `name`, `name(...)`, `name?`. */
function documented(name: string): boolean {
  return new RegExp(`\`${name.replace(/[$]/g, "\\$")}[\`(?]`).test(DOC);
}

/** Public prototype members of a socket.io class: not `_`-prefixed, not declared `private`. */
function publicMembers(module: string, className: string): string[] {
  const exported = require(join(SOCKET_IO, "dist", `${module}.js`)) as Record<string, { prototype: object }>;
  const declarations = readFileSync(join(SOCKET_IO, "dist", `${module}.d.ts`), "utf8");
  const privateNames = new Set(
    [...declarations.matchAll(/private (?:static )?(?:readonly )?(\w+)/g)].map((m) => m[1]),
  );
  const names = new Set<string>();
  for (let proto = exported[className]!.prototype; proto && proto !== Object.prototype; ) {
    for (const name of Object.getOwnPropertyNames(proto)) names.add(name);
    proto = Object.getPrototypeOf(proto);
  }
  return [...names].filter(
    (name) =>
      name !== "constructor" &&
      !name.startsWith("_") &&
      !privateNames.has(name) &&
      // socket.io's own internals, public in JavaScript but absent from its typings.
      !["emitReserved", "emitUntyped", "onconnection"].includes(name),
  );
}

/** The keys of an options interface in a type declaration file. */
function optionKeys(file: string, iface: string): string[] {
  const text = readFileSync(file, "utf8");
  const body = text.slice(text.indexOf(`interface ${iface}`));
  const block = body.slice(0, body.indexOf("\n}"));
  return [...block.matchAll(/^ {4}(\w+)\??:/gm)].map((m) => m[1]!);
}

describe("docs/socketio-compat.md", () => {
  for (const [module, className] of [
    ["index", "Server"],
    ["namespace", "Namespace"],
    ["socket", "Socket"],
    ["broadcast-operator", "BroadcastOperator"],
  ] as const) {
    test(`lists every public member of socket.io's ${className}`, () => {
      const members = publicMembers(module, className);
      expect(members.length).toBeGreaterThan(5);
      expect(members.filter((name) => !documented(name))).toEqual([]);
    });
  }

  test("lists every socket.io server option", () => {
    const keys = optionKeys(join(SOCKET_IO, "dist/index.d.ts"), "ServerOptions");
    expect(keys).toContain("connectionStateRecovery");
    expect(keys.filter((key) => !documented(key))).toEqual([]);
  });

  test("lists every engine.io option", () => {
    const declarations = join(ENGINE_IO, "build/server.d.ts");
    const keys = [...optionKeys(declarations, "ServerOptions"), ...optionKeys(declarations, "AttachOptions")];
    expect(keys).toContain("pingInterval");
    expect(keys.filter((key) => !documented(key))).toEqual([]);
  });
});
