/**
 * scripts/check-quickstart.ts: the README's quick start and first ten minutes, run on a fresh clone
 * of HEAD, do what the README says. Until `bun run simulate` exists in package.json (another
 * change brings it), exactly that step may fail, and only for that reason.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, runToExit } from "../support/main-process.ts";

setDefaultTimeout(600_000);

test("every command of the README's quick start and first ten minutes does what the README says", async () => {
  const result = await runToExit(["bun", join(ROOT, "scripts", "check-quickstart.ts")], {}, 590_000);
  const failures = result.stdout.split("\n").filter((line) => line.startsWith("✗"));
  const hasSimulate = Boolean(
    (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> })
      .scripts.simulate,
  );
  if (hasSimulate) {
    expect(failures).toEqual([]);
    expect(result.code).toBe(0);
  } else {
    expect(failures).toHaveLength(1);
    expect(failures[0]).toContain("package.json has no simulate script");
  }
  expect(result.stdout).toMatch(/\d+ of \d+ steps do what the README says/);
});
