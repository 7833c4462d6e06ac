/**
 * `bun run build:client [outDir]`: the typed client module (src/client) as a package that Node 20+,
 * browsers and bundlers import: ESM JavaScript (one file; socket.io-client stays an import, a peer
 * dependency) plus .d.ts declarations (tsc) and a package.json named `switchboard-client`.
 * Default outDir: build/client.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
export const CLIENT_BUILD_DIR = join(ROOT, "build", "client");
export const CLIENT_PACKAGE_NAME = "switchboard-client";

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/**
 * tsc declarations of src/client (and the src/shared and db/ types it uses) into `typesDir`, laid out
 * as in the repository (`types/src/client/…`, `types/db/…`) so their relative imports still resolve.
 */
async function emitDeclarations(typesDir: string): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), "sb-client-dts-"));
  try {
    const config = {
      compilerOptions: {
        target: "ES2022",
        module: "ESNext",
        moduleResolution: "bundler",
        lib: ["ES2022", "DOM"],
        types: [],
        strict: true,
        skipLibCheck: true,
        declaration: true,
        emitDeclarationOnly: true,
        allowImportingTsExtensions: true,
        verbatimModuleSyntax: true,
        rootDir: ROOT,
        outDir: typesDir,
      },
      files: [join(ROOT, "src", "client", "index.ts")],
    };
    const tsconfig = join(scratch, "tsconfig.json");
    writeFileSync(tsconfig, JSON.stringify(config));
    const tsc = Bun.spawnSync([join(ROOT, "node_modules", ".bin", "tsc"), "-p", tsconfig], {
      stdout: "pipe",
      stderr: "pipe",
    });
    if (tsc.exitCode !== 0) throw new Error(`tsc failed:\n${tsc.stdout.toString()}${tsc.stderr.toString()}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  // The sources import "./x.ts" (Bun); published declarations must name what Node resolves: "./x.js".
  for (const file of filesUnder(typesDir))
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(/(from\s+["']\.{1,2}\/[^"']+)\.ts(["'])/g, "$1.js$2"),
    );
}

export async function buildClientPackage(outDir: string = CLIENT_BUILD_DIR): Promise<{ outDir: string }> {
  const dir = resolve(outDir);
  rmSync(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const result = await Bun.build({
    entrypoints: [join(ROOT, "src", "client", "index.ts")],
    outdir: dir,
    naming: "index.js",
    // "browser" emits plain ESM that Node 20 runs too: the module uses only fetch, timers and socket.io-client.
    target: "browser",
    format: "esm",
    external: ["socket.io-client"],
    sourcemap: "linked",
  });
  if (!result.success) throw new AggregateError(result.logs, "client bundle failed");
  await emitDeclarations(join(dir, "types"));
  writeFileSync(join(dir, "index.d.ts"), 'export * from "./types/src/client/index.js";\n');
  const root = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    version: string;
    dependencies: Record<string, string>;
  };
  const pkg = {
    name: CLIENT_PACKAGE_NAME,
    version: root.version,
    description:
      "Typed client for the Switchboard chat server (REST + Socket.IO): sessions, tokens, catch-up, typing",
    type: "module",
    main: "./index.js",
    module: "./index.js",
    types: "./index.d.ts",
    exports: { ".": { types: "./index.d.ts", import: "./index.js", default: "./index.js" } },
    sideEffects: false,
    engines: { node: ">=20" },
    peerDependencies: { "socket.io-client": root.dependencies["socket.io-client"] },
  };
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  return { outDir: dir };
}

if (import.meta.main) {
  try {
    const { outDir } = await buildClientPackage(process.argv[2]);
    console.log(`${CLIENT_PACKAGE_NAME} built in ${outDir}`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
