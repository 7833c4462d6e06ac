/**
 * A smoke run of the chaos script (`bun scripts/load/chaos.ts`), tiny: a few clients over three
 * nodes of each target, node 0 killed and restarted. It checks that the script runs both targets
 * and counts what it claims; Switchboard on PostgreSQL must recover every client of the killed node
 * with every broadcast once, in order (its documented guarantee). No timing is asserted.
 */
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import type { ChaosResult } from "../../scripts/load/chaos.ts";
import { hasPostgres, hasRedis, requireBinary } from "../support/services.ts";

const available =
  (await hasPostgres()) && (await hasRedis()) && requireBinary("node", "install Node.js 20") !== null;
const SCRIPT = resolve(import.meta.dir, "../../scripts/load/chaos.ts");
const CLIENTS = 12;
const TICKS = 45;

describe.skipIf(!available)("the chaos script", () => {
  test("runs Switchboard (PostgreSQL) and the official Redis Streams cluster side by side", async () => {
    const proc = Bun.spawn(
      ["bun", SCRIPT, "--clients", String(CLIENTS), "--ticks", String(TICKS), "--settle", "20000", "--json"],
      { stdout: "pipe", stderr: "pipe", env: { ...process.env, LOG_LEVEL: "error" } },
    );
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    expect({ code, err: code === 0 ? "" : err }).toEqual({ code: 0, err: "" });
    expect(err).toContain("node 0 killed");
    const results = JSON.parse(out) as ChaosResult[];
    expect(results.map((r) => [r.target, r.adapter])).toEqual([
      ["switchboard", "postgres"],
      ["official", "@socket.io/redis-streams-adapter"],
    ]);
    for (const result of results) {
      expect(result.clients).toBe(CLIENTS);
      expect(result.killedClients).toBe(CLIENTS / 3);
      expect(result.disconnected).toBe(0);
      // Every client of the killed node came back one way or the other.
      expect(result.recovered + result.freshSessions).toBeGreaterThanOrEqual(result.killedClients);
    }
    const [switchboard] = results as [ChaosResult];
    expect(switchboard).toMatchObject({
      recovered: CLIENTS / 3,
      freshSessions: 0,
      missed: 0,
      duplicated: 0,
      outOfOrder: 0,
      perfectClients: CLIENTS,
    });
  }, 180_000);
});
