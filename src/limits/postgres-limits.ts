/**
 * The limits' atomic operations in PostgreSQL: a token bucket take (of one or several tokens) is
 * one UPSERT (the row lock serializes concurrent takes), a new connection is one transaction under an advisory lock of its
 * user (so two nodes never both see room for one more). Tables are UNLOGGED (state that is
 * rebuilt within seconds needs no crash safety) and created on first use in the cluster database.
 */

import type postgres from "postgres";
import { createTablesOnce } from "../../protocol/adapter/postgres/create-tables.ts";
import type { ConnectionEntry, ConnectionStore, RateStore } from "./shared-store.ts";

export const CONNECTIONS_TABLE = "switchboard_user_connections";
export const BUCKETS_TABLE = "switchboard_rate_buckets";
/** Buckets unused this long are deleted (they would be full again anyway). */
const BUCKET_SWEEP_INTERVAL_MS = 60_000;

export function postgresLimitStores(sql: postgres.Sql): { connections: ConnectionStore; rate: RateStore } {
  const ensureTables = createTablesOnce(
    sql,
    `CREATE UNLOGGED TABLE IF NOT EXISTS ${CONNECTIONS_TABLE} (
           user_id text NOT NULL, connection_id text NOT NULL, connected_at bigint NOT NULL, seq bigserial,
           lease_until timestamptz NOT NULL, PRIMARY KEY (user_id, connection_id));
         CREATE UNLOGGED TABLE IF NOT EXISTS ${BUCKETS_TABLE} (
           key text PRIMARY KEY, tokens double precision NOT NULL, at timestamptz NOT NULL,
           allowed boolean NOT NULL);
         -- Tokens of the last take (leases of several); added to tables of earlier versions.
         ALTER TABLE ${BUCKETS_TABLE} ADD COLUMN IF NOT EXISTS granted integer NOT NULL DEFAULT 0`,
  );
  let lastSweep = Date.now();
  const sweepBuckets = () => {
    if (Date.now() - lastSweep < BUCKET_SWEEP_INTERVAL_MS) return;
    lastSweep = Date.now();
    sql.unsafe(`DELETE FROM ${BUCKETS_TABLE} WHERE at < now() - interval '10 minutes'`).catch(() => {});
  };
  const lease = (ms: number) => `make_interval(secs => ${Math.max(1, Math.round(ms)) / 1000})`;

  return {
    connections: {
      async open(entry: ConnectionEntry, max: number, leaseMs: number) {
        await ensureTables();
        const evicted = await sql.begin(async (tx) => {
          await tx.unsafe("SELECT pg_advisory_xact_lock(hashtextextended($1, 7207))", [entry.userId]);
          await tx.unsafe(`DELETE FROM ${CONNECTIONS_TABLE} WHERE user_id = $1 AND lease_until < now()`, [
            entry.userId,
          ]);
          await tx.unsafe(
            `INSERT INTO ${CONNECTIONS_TABLE} (user_id, connection_id, connected_at, lease_until)
             VALUES ($1, $2, $3, now() + ${lease(leaseMs)}) ON CONFLICT DO NOTHING`,
            [entry.userId, entry.connectionId, entry.connectedAt],
          );
          return tx.unsafe(
            `DELETE FROM ${CONNECTIONS_TABLE} WHERE user_id = $1 AND connection_id IN (
               SELECT connection_id FROM ${CONNECTIONS_TABLE} WHERE user_id = $1 ORDER BY connected_at DESC, seq DESC OFFSET $2)
             RETURNING connection_id`,
            [entry.userId, max],
          );
        });
        return evicted.map((row) => String(row.connection_id));
      },
      async close(entry) {
        await ensureTables();
        await sql.unsafe(`DELETE FROM ${CONNECTIONS_TABLE} WHERE user_id = $1 AND connection_id = $2`, [
          entry.userId,
          entry.connectionId,
        ]);
      },
      async refresh(entries, leaseMs: number) {
        if (entries.length === 0) return;
        await ensureTables();
        await sql.unsafe(
          `UPDATE ${CONNECTIONS_TABLE} SET lease_until = now() + ${lease(leaseMs)} WHERE connection_id = ANY($1::text[])`,
          [entries.map((entry) => entry.connectionId)],
        );
      },
    },
    rate: {
      async take(key: string, ratePerSecond: number, burst: number, count: number) {
        await ensureTables();
        sweepBuckets();
        // The bucket after refill; granted: whole tokens of it, at most $4.
        const refilled = `least($3::double precision,
                 b.tokens + extract(epoch FROM (SELECT now FROM clock) - b.at) * $2::double precision)`;
        const rows = await sql.unsafe(
          `WITH clock AS (SELECT clock_timestamp() AS now)
           INSERT INTO ${BUCKETS_TABLE} AS b (key, tokens, at, allowed, granted)
           SELECT $1, $3::double precision - least($4::int, floor($3::double precision)::int), clock.now,
                  least($4::int, floor($3::double precision)::int) >= 1,
                  least($4::int, floor($3::double precision)::int)
             FROM clock
           ON CONFLICT (key) DO UPDATE SET
             granted = greatest(0, least($4::int, floor(${refilled})::int)),
             allowed = least($4::int, floor(${refilled})::int) >= 1,
             tokens = ${refilled} - greatest(0, least($4::int, floor(${refilled})::int)),
             at = (SELECT now FROM clock)
           RETURNING granted`,
          [key, ratePerSecond, burst, count],
        );
        return Number(rows[0]?.granted ?? 0);
      },
    },
  };
}
