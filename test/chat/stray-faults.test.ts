/**
 * A throw in a timer or a rejected promise that nothing awaits is logged by src/main.ts and the
 * server keeps serving (the process-level safety net), instead of the process ending.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAIN, type StartedProcess, startProcess } from "../support/main-process.ts";

const dataDir = mkdtempSync(join(tmpdir(), "switchboard-stray-"));
let server: StartedProcess | undefined;
afterAll(() => {
  server?.proc.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

test("a stray exception or rejection is logged and the server keeps answering", async () => {
  server = await startProcess({ DATA_DIR: dataDir, LOG_LEVEL: "error" }, /running on http:\/\/\S+/, [
    "bun",
    "--preload",
    join(import.meta.dir, "fixtures", "stray-faults.ts"),
    MAIN,
  ]);
  const { url } = server;
  server.proc.kill("SIGUSR2");
  const deadline = Date.now() + 15_000;
  while (!/unhandled promise rejection/.test(server.stderr()) && Date.now() < deadline) await Bun.sleep(100);
  expect(server.stderr()).toContain("stray fault in a timer");
  expect(server.stderr()).toContain("stray rejected promise");
  expect(server.proc.exitCode).toBeNull();
  expect((await fetch(`${url}/health`)).status).toBe(200);
  // A first start runs the migrations and seeds PGlite: seconds on a loaded machine.
}, 60_000);
