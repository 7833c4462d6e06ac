/**
 * The Socket.IO behavioural suite with the PostgreSQL adapter on every server: a single node must
 * behave exactly as with the in-memory adapter while its broadcasts also go through LISTEN/NOTIFY.
 * Each server gets its own channel prefix so servers of different tests never form a cluster.
 */
import { afterAll, beforeAll } from "bun:test";
import { PostgresAdapter, PostgresLink } from "../../protocol/adapter/postgres/index.ts";
import { socketBehaviourSuite } from "../protocol/socketio/behaviour.ts";
import { TRANSPORTS } from "../protocol/socketio/support.ts";
import { hasPostgres } from "../support/services.ts";
import { type FreshDatabase, freshDatabase } from "./postgres-support.ts";
import { uniqueKey, waitFor } from "./support.ts";

const postgresUp = await hasPostgres();
let db: FreshDatabase;
let link: PostgresLink;

if (postgresUp) {
  beforeAll(async () => {
    db = await freshDatabase("behaviour");
    link = new PostgresLink({ url: db.url });
    link.start();
    await waitFor("listening on PostgreSQL", () => link.state === "connected");
  });
  afterAll(async () => {
    await link?.close();
    await db?.drop();
  });

  for (const transport of [TRANSPORTS.websocket, TRANSPORTS.polling]) {
    socketBehaviourSuite(transport, {
      label: "PostgreSQL adapter",
      recovery: true,
      serverOptions: () => {
        const channelPrefix = uniqueKey("behaviour");
        return { adapter: (nsp) => new PostgresAdapter(nsp, link, { channelPrefix }) };
      },
    });
  }
}
