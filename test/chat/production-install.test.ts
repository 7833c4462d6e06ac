/**
 * A production install as the README gives it, on a clean clone of this repository's HEAD:
 * `bun install --production` (from the local package cache), then `NODE_ENV=production … bun run
 * start`. GET / serves the inbox page and its script, the banner advertises it, and the start wrote
 * nothing into the tree. Then, without socket.io-client installed, the page cannot be bundled: one
 * line names the cause, the banner says the UI is not served, and GET / answers 404.
 *
 * It tests what is committed (a clone of HEAD), as CI does on a clean clone.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, runToExit, START_TIMEOUT_MS, startProcess, stopProcess } from "../support/main-process.ts";

const PRODUCTION_ENV = {
  NODE_ENV: "production",
  JWT_SECRET: "production-install-test-secret-0123456789",
  HOST: "127.0.0.1",
  DEMO_PASSWORD: "production-install-password",
};

describe("production install on a clean clone", () => {
  let scratch: string;
  let clone: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "sb-prod-install-"));
    clone = join(scratch, "switchboard");
    const head = (await runToExit(["git", "rev-parse", "HEAD"], {})).stdout.trim();
    for (const cmd of [
      ["git", "clone", "--quiet", "--no-checkout", ROOT, clone],
      ["git", "-C", clone, "checkout", "--quiet", head],
    ]) {
      const result = await runToExit(cmd, {});
      if (result.code !== 0) throw new Error(`${cmd.join(" ")} failed: ${result.stderr}`);
    }
  }, START_TIMEOUT_MS);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  test(
    "bun install --production && NODE_ENV=production bun run start serves the web UI",
    async () => {
      const install = await runToExit(
        ["bun", "install", "--production", "--frozen-lockfile"],
        {},
        START_TIMEOUT_MS,
        clone,
      );
      expect(install.code).toBe(0);
      expect(existsSync(join(clone, "node_modules", "typescript"))).toBe(false);

      const server = await startProcess(
        { ...PRODUCTION_ENV, DATA_DIR: join(scratch, "data") },
        undefined,
        ["bun", "run", "start"],
        clone,
      );
      try {
        expect(server.output).toContain(`Web UI:    ${server.url}/`);
        const page = await fetch(`${server.url}/`);
        expect(page.status).toBe(200);
        expect(page.headers.get("content-type")).toContain("text/html");
        expect(await page.text()).toContain('src="/app.js"');
        const script = await fetch(`${server.url}/app.js`);
        expect(script.status).toBe(200);
        expect(script.headers.get("content-type")).toContain("javascript");
        expect((await script.text()).length).toBeGreaterThan(10_000);
      } finally {
        expect(await stopProcess(server.proc)).toBe(0);
      }
      const status = await runToExit(["git", "status", "--porcelain", "--ignored"], {}, 10_000, clone);
      expect(status.stdout.trim().split("\n")).toEqual(["!! node_modules/"]);
    },
    START_TIMEOUT_MS * 2,
  );

  test("bun run build writes the page into build/web, outside the source tree", async () => {
    const build = await runToExit(["bun", "run", "build"], {}, START_TIMEOUT_MS, clone);
    expect(build.code).toBe(0);
    for (const file of ["index.html", "app.js", "styles.css"])
      expect(existsSync(join(clone, "build", "web", file))).toBe(true);
    const status = await runToExit(["git", "status", "--porcelain", "--ignored"], {}, 10_000, clone);
    expect(status.stdout.trim().split("\n").sort()).toEqual(["!! build/", "!! node_modules/"]);
  });

  test(
    "a page that cannot be bundled is one line with the cause, and the banner does not advertise it",
    async () => {
      rmSync(join(clone, "node_modules", "socket.io-client"), { recursive: true, force: true });
      const server = await startProcess(
        { ...PRODUCTION_ENV, DATA_DIR: join(scratch, "data") },
        undefined,
        ["bun", "run", "start"],
        clone,
      );
      try {
        expect(server.output).toContain("Web UI:    not served (web UI build failed:");
        expect(server.output).not.toContain(`Web UI:    ${server.url}`);
        for (let waited = 0; !server.stderr().includes("no web UI") && waited < 5000; waited += 50)
          await Bun.sleep(50);
        const warnings = server
          .stderr()
          .split("\n")
          .filter((line) => line.includes("no web UI"));
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain('Could not resolve: \\"socket.io-client\\"');
        expect((await fetch(`${server.url}/`)).status).toBe(404);
      } finally {
        expect(await stopProcess(server.proc)).toBe(0);
      }
    },
    START_TIMEOUT_MS * 2,
  );
});
