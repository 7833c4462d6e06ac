/**
 * Connection-state recovery kept in PostgreSQL, so that a client recovers on any node: every
 * recoverable broadcast of a namespace is appended to one log (its row id is the offset the
 * client acknowledges), and a disconnected socket's session (id, pid, rooms, data) is stored until
 * `maxDisconnectionDuration` passes. Both are bounded in time: rows older than that are deleted.
 */
import { decode as msgpackDecode, encode as msgpackEncode } from "notepack.io";
import type postgres from "postgres";
import type { SessionToPersist } from "../types.ts";
import { createTablesOnce } from "./create-tables.ts";

export const RECOVERY_PACKETS_TABLE = "socket_io_recovery_packets";
export const RECOVERY_SESSIONS_TABLE = "socket_io_recovery_sessions";

export interface LoggedPacket {
  offset: string;
  data: unknown[];
  rooms: string[];
  except: string[];
}

const RECOVERY_TABLES_DDL = `CREATE TABLE IF NOT EXISTS ${RECOVERY_PACKETS_TABLE} (
           id bigserial PRIMARY KEY, channel text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
           payload bytea NOT NULL);
         CREATE TABLE IF NOT EXISTS ${RECOVERY_SESSIONS_TABLE} (
           pid text PRIMARY KEY, channel text NOT NULL, session bytea NOT NULL, expires_at timestamptz NOT NULL)`;

export class PostgresRecoveryLog {
  private lastSweep = 0;
  private readonly ensureTables: () => Promise<void>;

  constructor(
    private readonly sql: postgres.Sql,
    private readonly maxDisconnectionDuration: number,
  ) {
    this.ensureTables = createTablesOnce(sql, RECOVERY_TABLES_DDL);
  }

  /** Appends a broadcast; resolves with its offset. */
  async append(channel: string, data: unknown[], rooms: string[], except: string[]): Promise<string> {
    await this.ensureTables();
    this.sweep();
    const rows = await this.sql.unsafe(
      `INSERT INTO ${RECOVERY_PACKETS_TABLE} (channel, payload) VALUES ($1, $2) RETURNING id`,
      [channel, Buffer.from(msgpackEncode({ data, rooms, except }))],
    );
    return String(rows[0]?.id);
  }

  /** The broadcasts after `offset`, in order; null when `offset` is unknown or too old. */
  async after(channel: string, offset: string): Promise<LoggedPacket[] | null> {
    if (!/^\d{1,19}$/.test(offset)) return null;
    await this.ensureTables();
    const known = await this.sql.unsafe(
      `SELECT 1 FROM ${RECOVERY_PACKETS_TABLE} WHERE id = $1 AND channel = $2
         AND created_at > now() - make_interval(secs => $3::double precision / 1000)`,
      [offset, channel, this.maxDisconnectionDuration],
    );
    if (known.length === 0) return null;
    const rows = await this.sql.unsafe(
      `SELECT id, payload FROM ${RECOVERY_PACKETS_TABLE} WHERE channel = $1 AND id > $2 ORDER BY id`,
      [channel, offset],
    );
    return rows.map((row) => {
      const entry = msgpackDecode(row.payload as Buffer) as Omit<LoggedPacket, "offset">;
      return { offset: String(row.id), ...entry };
    });
  }

  async saveSession(channel: string, session: SessionToPersist): Promise<void> {
    await this.ensureTables();
    await this.sql.unsafe(
      `INSERT INTO ${RECOVERY_SESSIONS_TABLE} (pid, channel, session, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4::double precision / 1000))
       ON CONFLICT (pid) DO UPDATE SET session = excluded.session, expires_at = excluded.expires_at`,
      [session.pid, channel, Buffer.from(msgpackEncode(session)), this.maxDisconnectionDuration],
    );
  }

  /**
   * Stores (or refreshes) the sessions of live sockets, in one statement, so that they can be
   * recovered even if this node dies without a word; each lives `maxDisconnectionDuration` from now.
   */
  async saveLiveSessions(channel: string, sessions: SessionToPersist[]): Promise<void> {
    if (sessions.length === 0) return;
    await this.ensureTables();
    // One JSON text parameter: arrays of bytea need the driver's type catalogue, which the
    // adapter's connections do not fetch.
    const rows = sessions.map((session) => ({
      pid: session.pid,
      session: Buffer.from(msgpackEncode(session)).toString("base64"),
    }));
    await this.sql.unsafe(
      `INSERT INTO ${RECOVERY_SESSIONS_TABLE} (pid, channel, session, expires_at)
       SELECT e->>'pid', $1, decode(e->>'session', 'base64'),
              now() + make_interval(secs => $3::double precision / 1000)
       FROM jsonb_array_elements($2::text::jsonb) AS e
       ON CONFLICT (pid) DO UPDATE SET session = excluded.session, expires_at = excluded.expires_at`,
      [channel, JSON.stringify(rows), this.maxDisconnectionDuration],
    );
  }

  /** Forgets a session that must not be recovered (its socket left for good). */
  async dropSession(pid: string): Promise<void> {
    await this.ensureTables();
    await this.sql.unsafe(`DELETE FROM ${RECOVERY_SESSIONS_TABLE} WHERE pid = $1`, [pid]);
  }

  /** Removes and returns a stored session that has not expired. */
  async takeSession(channel: string, pid: string): Promise<SessionToPersist | null> {
    await this.ensureTables();
    const rows = await this.sql.unsafe(
      `DELETE FROM ${RECOVERY_SESSIONS_TABLE} WHERE pid = $1 AND channel = $2 RETURNING session, expires_at > now() AS live`,
      [pid, channel],
    );
    const row = rows[0];
    if (!row?.live) return null;
    return msgpackDecode(row.session as Buffer) as SessionToPersist;
  }

  /** Drops what no client may ask for any more, at most once per tenth of the window. */
  private sweep(): void {
    const now = Date.now();
    if (now - this.lastSweep < Math.max(1000, this.maxDisconnectionDuration / 10)) return;
    this.lastSweep = now;
    const window = [this.maxDisconnectionDuration];
    this.sql
      .unsafe(
        `DELETE FROM ${RECOVERY_PACKETS_TABLE} WHERE created_at < now() - make_interval(secs => $1::double precision / 1000)`,
        window,
      )
      .catch(() => {});
    this.sql.unsafe(`DELETE FROM ${RECOVERY_SESSIONS_TABLE} WHERE expires_at < now()`).catch(() => {});
  }
}
