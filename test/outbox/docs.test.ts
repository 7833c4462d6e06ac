/** docs/delivery.md stays true to the code: every outbox setting the config reads is documented. */
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config.ts";

const doc = await Bun.file(`${import.meta.dir}/../../docs/delivery.md`).text();
const configSource = await Bun.file(`${import.meta.dir}/../../src/config.ts`).text();

describe("docs/delivery.md", () => {
  test("lists every OUTBOX_* variable src/config.ts reads, and the send timeout and NODE_ID", () => {
    const read = new Set([...configSource.matchAll(/"(OUTBOX_[A-Z_]+)"/g)].map((m) => m[1]!));
    expect(read.size).toBeGreaterThanOrEqual(6);
    for (const name of [...read, "WHATSAPP_SEND_TIMEOUT_MS", "NODE_ID", "MEDIA_DIR", "MEDIA_MAX_BYTES"])
      expect(doc).toContain(`\`${name}\``);
  });

  test("the documented defaults are the config's defaults", () => {
    const config = loadConfig({});
    expect(config.outbox).toEqual({
      pollMs: 1000,
      concurrency: 8,
      leaseMs: 30_000,
      retryBaseMs: 1000,
      retryMaxMs: 30_000,
      retryBudgetMs: 6 * 3600_000,
    });
    expect(config.whatsappSendTimeoutMs).toBe(10_000);
    expect(config.mediaMaxBytes).toBe(16_777_216);
    expect(doc).toContain("| `MEDIA_MAX_BYTES` | 16777216 |");
    expect(doc).toContain("| `OUTBOX_RETRY_BUDGET` | 6h |");
  });

  test("a lease shorter than twice the send timeout is refused at start-up", () => {
    expect(() => loadConfig({ OUTBOX_LEASE_MS: "5000", WHATSAPP_SEND_TIMEOUT_MS: "3000" })).toThrow(
      /OUTBOX_LEASE_MS must be at least twice/,
    );
  });
});
