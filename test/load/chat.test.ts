/**
 * Smoke run of the chat scenario on the real backend: watchers joined through `join_conversation`
 * receive every message POSTed through the REST API, on PGlite and (when reachable) PostgreSQL.
 * Asserts delivery, never a speed.
 */
import { describe, expect, test } from "bun:test";
import { Progress } from "../../scripts/load/progress.ts";
import { type ChatDatabase, runDatabase } from "../../scripts/load/scenarios/chat.ts";
import type { RunContext } from "../../scripts/load/scenarios/types.ts";
import { hasPostgres } from "../support/services.ts";

const ctx: RunContext = {
  target: "switchboard",
  start: () => Promise.reject(new Error("the chat scenario starts its own server")),
  reps: 1,
  quick: true,
  progress: new Progress(true),
};

const databases: ChatDatabase[] = (await hasPostgres()) ? ["pglite", "postgres"] : ["pglite"];

describe.each(databases)("the chat scenario on %s", (database) => {
  test("every watcher receives every message POSTed through the REST API as message:new", async () => {
    const { fixed, steps } = await runDatabase(
      ctx,
      {
        databases: [database],
        core: null,
        watchers: 5,
        messagesPerSec: 20,
        searchDoublings: 1,
        p99LimitMs: 60_000,
        warmupMs: 200,
        measureMs: 500,
      },
      database,
    );
    for (const s of [...fixed, ...steps]) {
      expect(s.postErrors).toBe(0);
      expect(s.posted).toBeGreaterThan(0);
      expect(s.expected).toBe(s.posted * 5);
      expect(s.lost).toBe(0);
      expect(s.latency.count).toBeGreaterThan(0);
    }
    // The search doubles the fixed rate (it never offers less than the rate that passed).
    expect(steps.map((s) => s.messagesPerSec)).toEqual([40]);
  }, 60_000);
});
