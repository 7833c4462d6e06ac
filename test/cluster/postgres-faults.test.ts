/**
 * The PostgreSQL adapter when its connections die: every backend of the cluster's database is
 * terminated (as a failover or a restart does). Each node notices, reports `degraded`, LISTENs
 * again with backoff, announces itself again, and broadcasts flow between the nodes once more.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import postgres from "postgres";
import { createPostgresCluster, type PostgresCluster } from "../../protocol/adapter/postgres/index.ts";
import { hasPostgres } from "../support/services.ts";
import { type RecordingClient, recordingClient, type SwitchboardNode, startNodeOn } from "./harness.ts";
import { type FreshDatabase, freshDatabase } from "./postgres-support.ts";
import { uniqueKey, waitFor } from "./support.ts";

setDefaultTimeout(30_000);
const postgresUp = await hasPostgres();

describe.skipIf(!postgresUp)("the PostgreSQL adapter across a loss of its database connections", () => {
  let db: FreshDatabase;
  let sb1: SwitchboardNode<PostgresCluster>;
  let sb2: SwitchboardNode<PostgresCluster>;
  let onSb2: RecordingClient;
  const prefix = uniqueKey("pgfaults");
  const start = (name: string) =>
    startNodeOn(
      name,
      createPostgresCluster({
        url: db.url,
        channelPrefix: prefix,
        heartbeatInterval: 500,
        heartbeatTimeout: 3000,
      }),
    );

  beforeAll(async () => {
    db = await freshDatabase("faults");
    [sb1, sb2] = await Promise.all([start("sb1"), start("sb2")]);
    onSb2 = await recordingClient(sb2.url);
  });
  afterAll(async () => {
    onSb2?.close();
    await Promise.all([sb1?.close(), sb2?.close()]);
    await db?.drop();
  });

  test("nodes reconnect, LISTEN again and deliver again after every backend was terminated", async () => {
    sb1.io.emit("before");
    await waitFor("before", () => onSb2.got("before").length === 1);
    const admin = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                  WHERE datname = current_database() AND pid <> pg_backend_pid()`;
    } finally {
      await admin.end();
    }
    await waitFor("both degraded or reconnected", () =>
      [sb1, sb2].every(
        (node) => node.cluster.link.counters.reconnects >= 1 || node.cluster.link.state === "degraded",
      ),
    );
    await waitFor(
      "both listening again",
      () =>
        [sb1, sb2].every(
          (node) => node.cluster.link.state === "connected" && node.cluster.link.counters.reconnects >= 1,
        ),
      15_000,
    );
    await waitFor(
      "each counts the other again",
      async () => (await sb1.io.of("/").adapter.serverCount()) === 2,
    );
    // The publishing connection was terminated too: it reconnects on the next query.
    await waitFor(
      "delivery resumed",
      () => {
        sb1.io.emit("after");
        return onSb2.got("after").length > 0;
      },
      15_000,
    );
    expect(onSb2.got("before")).toHaveLength(1);
  });
});
