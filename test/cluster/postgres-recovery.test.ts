/**
 * Connection-state recovery kept in PostgreSQL, at the edges: a client that asks to recover a
 * session nobody stored, or from an offset the log does not hold, gets a fresh session, and the
 * refusal is counted by reason (the metric `switchboard_recovery_refused_total`).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { io as connect } from "socket.io-client";
import { NotRecoveredReason } from "../../protocol/adapter/postgres/adapter.ts";
import { createPostgresCluster, type PostgresCluster } from "../../protocol/adapter/postgres/index.ts";
import { hasPostgres } from "../support/services.ts";
import { type SwitchboardNode, startNodeOn } from "./harness.ts";
import { type FreshDatabase, freshDatabase } from "./postgres-support.ts";
import { uniqueKey, within } from "./support.ts";

const postgresUp = await hasPostgres();

describe.skipIf(!postgresUp)("recovery refused by the PostgreSQL store", () => {
  let db: FreshDatabase;
  let node: SwitchboardNode<PostgresCluster>;
  beforeAll(async () => {
    db = await freshDatabase("recovery");
    node = await startNodeOn("sb", createPostgresCluster({ url: db.url, channelPrefix: uniqueKey("rec") }), {
      connectionStateRecovery: { maxDisconnectionDuration: 10_000 },
    });
  });
  afterAll(async () => {
    await node?.close();
    await db?.drop();
  });

  test("an unknown session gives a fresh one, and the reason is counted", async () => {
    const client = connect(node.url, {
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
      auth: { pid: "no-such-session", offset: "1" },
    });
    try {
      await within("connect", new Promise((resolve) => client.once("connect", () => resolve(null))));
      expect(client.recovered).toBe(false);
      const counters = node.cluster.link.recoveryCounters;
      expect(counters.notRecovered[NotRecoveredReason.UNKNOWN_SESSION]).toBe(1);
      expect(counters.recovered).toBe(0);
    } finally {
      client.close();
    }
  });
});
