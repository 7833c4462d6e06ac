/**
 * chat: the product path. Agents POST messages through the REST API, each is persisted, and the
 * watchers of the conversation receive `message:new`; figures are the latency from POST to receipt
 * and the p99 at a fixed rate, on PGlite and on PostgreSQL.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { RunContext, ScenarioResult } from "./types.ts";

export interface ChatOptions {
  databases: ("pglite" | "postgres")[];
  /** Core the chat server is pinned to (null: unpinned). */
  core: number | null;
  /** Watchers of the conversation. Default 100. */
  watchers: number;
  /** Offered messages per second (POSTs). Default 200. */
  messagesPerSec: number;
  warmupMs: number;
  measureMs: number;
}

export function chatDefaults(quick: boolean): Omit<ChatOptions, "databases" | "core"> {
  return {
    watchers: 100,
    messagesPerSec: 200,
    warmupMs: quick ? 1_000 : 2_000,
    measureMs: quick ? 3_000 : 5_000,
  };
}

const MAIN = resolve(import.meta.dir, "../../../src/main.ts");

export async function runChat(_ctx: RunContext, _options: ChatOptions): Promise<ScenarioResult> {
  if (!existsSync(MAIN)) throw new Error("pending: the chat backend (src/main.ts) has not landed yet");
  throw new Error("pending: not written yet");
}
