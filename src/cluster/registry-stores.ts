/**
 * The node registry's two stores: Redis keys with a TTL, or a row per node in PostgreSQL with an
 * expiry time. Both keep only what a lookup needs (node id → internal address), and both let an
 * announcement lapse on its own when a node dies without withdrawing it.
 */

import type postgres from "postgres";
import { createTablesOnce } from "../../protocol/adapter/postgres/create-tables.ts";
import type { RegistryStore } from "./registry.ts";

/** The node-redis commands used (the Redis link's command client satisfies it). */
export interface RedisCommands {
  set(key: string, value: string, options: { PX: number }): Promise<unknown>;
  get(key: string): Promise<string | null>;
  del(key: string): Promise<unknown>;
}

/** `<prefix>:node:<nodeId>` → address, expiring after the TTL. */
export function redisRegistryStore(redis: RedisCommands, prefix = "switchboard"): RegistryStore {
  const keyOf = (nodeId: string) => `${prefix}:node:${nodeId}`;
  return {
    announce: async (nodeId, address, ttlMs) => {
      await redis.set(keyOf(nodeId), address, { PX: ttlMs });
    },
    lookup: (nodeId) => redis.get(keyOf(nodeId)),
    withdraw: async (nodeId) => {
      await redis.del(keyOf(nodeId));
    },
  };
}

/** Table of the PostgreSQL registry, created on first use in the cluster's database. */
export const NODES_TABLE = "switchboard_cluster_nodes";

/**
 * One row per node. UNLOGGED: announcements are refreshed every few seconds, so they need no
 * crash safety, and skipping the WAL keeps the heartbeat cheap.
 */
export function postgresRegistryStore(sql: postgres.Sql): RegistryStore {
  const ensureTable = createTablesOnce(
    sql,
    `CREATE UNLOGGED TABLE IF NOT EXISTS ${NODES_TABLE} (
           node_id text PRIMARY KEY, address text NOT NULL, expires_at timestamptz NOT NULL)`,
  );
  return {
    async announce(nodeId, address, ttlMs) {
      await ensureTable();
      await sql.unsafe(
        `INSERT INTO ${NODES_TABLE} (node_id, address, expires_at)
         VALUES ($1, $2, now() + make_interval(secs => $3::double precision / 1000))
         ON CONFLICT (node_id) DO UPDATE SET address = excluded.address, expires_at = excluded.expires_at`,
        [nodeId, address, ttlMs],
      );
    },
    async lookup(nodeId) {
      await ensureTable();
      const rows = await sql.unsafe(
        `SELECT address FROM ${NODES_TABLE} WHERE node_id = $1 AND expires_at > now()`,
        [nodeId],
      );
      return (rows[0]?.address as string | undefined) ?? null;
    },
    async withdraw(nodeId) {
      await ensureTable();
      await sql.unsafe(
        `DELETE FROM ${NODES_TABLE} WHERE node_id = $1 OR expires_at < now() - interval '1 hour'`,
        [nodeId],
      );
    },
  };
}
