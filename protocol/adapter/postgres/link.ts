/**
 * The node's connection to PostgreSQL for the cluster, shared by every namespace (as the official
 * adapter shares its `PubSubClient`), through postgres.js, the project's driver:
 *
 * - one connection that LISTENs to every namespace's channel. postgres.js hands notifications to
 *   `onnotify` in arrival order; when the connection drops, every channel is LISTENed again with
 *   backoff until the database answers (notifications sent meanwhile are lost, as with Redis).
 * - one connection that publishes (`pg_notify`) and reads/writes attachments. A single connection
 *   keeps the commit order of what this node publishes, so other nodes receive it in order.
 *
 * Faults never reach the caller as rejections: publishes fail fast while the database is away,
 * are counted, and the link is `degraded` until LISTEN works again.
 */
import { EventEmitter } from "node:events";
import postgres from "postgres";
import { createLogger } from "../../logger.ts";
import { asBuffer } from "../bytes.ts";
import { newRecoveryCounters, type RecoveryCounters } from "../cluster/recovery.ts";
import type { LinkCounters, LinkState } from "../redis/link.ts";
import { createTablesOnce } from "./create-tables.ts";

const log = createLogger("adapter:postgres");

export type { LinkCounters, LinkState };

export interface PostgresLinkOptions {
  /** `postgres://user:pass@host:port/db` of the database every node shares. */
  url: string;
  /** Table of the attachments (binary payloads and large messages). Default "socket_io_attachments". */
  tableName?: string;
  /** Attachments older than this are deleted, in ms (also the cleanup period). Default 30000. */
  cleanupInterval?: number;
  /** Create the attachments table when it is missing. Default true. */
  createTable?: boolean;
  /** First delay before LISTENing again after a lost connection, in ms; doubles per attempt. Default 100. */
  reconnectMinDelayMs?: number;
  /** Longest such delay, in ms. Default 5000. */
  reconnectMaxDelayMs?: number;
  /** How long one connection attempt may take, in seconds. Default 2. */
  connectTimeoutSeconds?: number;
}

export const POSTGRES_LINK_DEFAULTS = {
  tableName: "socket_io_attachments",
  cleanupInterval: 30_000,
  createTable: true,
  reconnectMinDelayMs: 100,
  reconnectMaxDelayMs: 5000,
  connectTimeoutSeconds: 2,
} as const;

/** The official adapter interpolates the table name into SQL: only plain (optionally schema-qualified) names. */
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;

export type NotificationListener = (payload: string) => void;

export class PostgresLink extends EventEmitter {
  readonly counters: LinkCounters = {
    published: 0,
    publishFailed: 0,
    received: 0,
    malformed: 0,
    reconnects: 0,
    requestTimeouts: 0,
  };
  /** Connection-state recovery across nodes: sessions recovered, and refusals by reason. */
  readonly recoveryCounters: RecoveryCounters = newRecoveryCounters();
  readonly tableName: string;
  private readonly pub: postgres.Sql;
  private readonly sub: postgres.Sql;
  private readonly channelListeners = new Map<string, NotificationListener>();
  private stateValue: LinkState = "connecting";
  private relistenTimer: ReturnType<typeof setTimeout> | undefined;
  private relistenAttempt = 0;
  private readonly cleanupTimer: ReturnType<typeof setInterval>;
  private createTable: (() => Promise<void>) | undefined;
  /** Set once the attachments table is known to exist: sends then skip the wait (see `whenTableReady`). */
  private tableExists = false;
  private readonly options: Required<PostgresLinkOptions>;

  constructor(options: PostgresLinkOptions) {
    super();
    this.options = { ...POSTGRES_LINK_DEFAULTS, ...definedOnly(options), url: options.url };
    if (!TABLE_NAME.test(this.options.tableName))
      throw new Error(`invalid attachments table name "${this.options.tableName}"`);
    this.tableName = this.options.tableName;
    const common = {
      max: 1,
      onnotice: () => {},
      connect_timeout: this.options.connectTimeoutSeconds,
      idle_timeout: 0,
      max_lifetime: null,
      fetch_types: false,
    } as const;
    this.pub = postgres(options.url, common);
    // `onnotify` is what postgres.js' own `listen` uses; its typings leave it out.
    this.sub = postgres(options.url, {
      ...common,
      onnotify: (channel: string, payload: string) => this.onNotify(channel, payload),
      onclose: () => this.onSubscriberClosed(),
    } as postgres.Options<{}>);
    this.cleanupTimer = setInterval(() => void this.deleteOldAttachments(), this.options.cleanupInterval);
    this.cleanupTimer.unref?.();
  }

  get state(): LinkState {
    return this.stateValue;
  }

  /** Starts listening to every registered channel; resolves at once. Failure is a state, not an error. */
  start(): void {
    this.relisten();
  }

  /**
   * Listens to `channel` (quoted exactly as the official adapter does); resolves once PostgreSQL
   * confirmed it, or at once while the database is away (the LISTEN is replayed on reconnect).
   */
  async listen(channel: string, listener: NotificationListener): Promise<void> {
    this.channelListeners.set(channel, listener);
    if (this.stateValue !== "connected") return;
    try {
      await this.sub.unsafe(`LISTEN ${quoteIdentifier(channel)}`);
    } catch (err) {
      log.warn("LISTEN failed", { channel, err });
    }
  }

  unlisten(channel: string): void {
    if (!this.channelListeners.delete(channel) || this.stateValue !== "connected") return;
    this.sub.unsafe(`UNLISTEN ${quoteIdentifier(channel)}`).catch(() => {});
  }

  /** Publishes a notification; never rejects. False (and counted) when PostgreSQL did not take it. */
  async notify(channel: string, payload: string): Promise<boolean> {
    try {
      await this.whenTableReady(() => this.pub`SELECT pg_notify(${channel}, ${payload})`);
      this.counters.published++;
      return true;
    } catch (err) {
      this.counters.publishFailed++;
      log.debug("notify failed", { channel, err });
      return false;
    }
  }

  /**
   * Stores `bytes` in the attachments table and notifies the header `{uid, nsp, type, attachmentId}`
   * in one statement: the notification commits with the row, in the order of this node's publishes.
   */
  async notifyWithAttachment(
    channel: string,
    header: { uid: string; nsp: string; type: number },
    bytes: Uint8Array,
  ): Promise<boolean> {
    try {
      await this.whenTableReady(() =>
        this.pub.unsafe(
          `WITH attachment AS (INSERT INTO ${this.tableName} (payload) VALUES ($1) RETURNING id)
         SELECT pg_notify($2::text, json_build_object(
           'uid', $3::text, 'nsp', $4::text, 'type', $5::int, 'attachmentId', id)::text) FROM attachment`,
          [asBuffer(bytes), channel, header.uid, header.nsp, header.type],
        ),
      );
      this.counters.published++;
      return true;
    } catch (err) {
      this.counters.publishFailed++;
      log.debug("notify with attachment failed", { channel, err });
      return false;
    }
  }

  /** The payload of an attachment, or null when it is gone (expired) or the database is away. */
  async readAttachment(id: string | number): Promise<Uint8Array | null> {
    try {
      const rows = await this.pub.unsafe(`SELECT payload FROM ${this.tableName} WHERE id = $1`, [String(id)]);
      const payload = rows[0]?.payload as Uint8Array | undefined;
      return payload ?? null;
    } catch (err) {
      log.debug("attachment not read", { id, err });
      return null;
    }
  }

  /** The publishing connection, for stores that share the cluster's database (registry, limits). */
  get sql(): postgres.Sql {
    return this.pub;
  }

  async close(): Promise<void> {
    this.setState("closed");
    clearTimeout(this.relistenTimer);
    clearInterval(this.cleanupTimer);
    this.channelListeners.clear();
    await Promise.allSettled([this.pub.end({ timeout: 1 }), this.sub.end({ timeout: 1 })]);
  }

  /**
   * Runs `query` at once when the attachments table exists, else after it was created. Every send
   * goes through here so that sends are queued on the connection in call order: a message with an
   * attachment must not fall behind a plain one published after it.
   */
  private whenTableReady<T>(query: () => PromiseLike<T>): PromiseLike<T> {
    if (this.tableExists || !this.options.createTable) return query();
    return this.ensureTable().then(query);
  }

  private ensureTable(): Promise<void> {
    if (!this.options.createTable) return Promise.resolve();
    this.createTable ??= createTablesOnce(
      this.pub,
      `CREATE TABLE IF NOT EXISTS ${this.tableName} (
           id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)`,
    );
    return this.createTable().then(() => {
      this.tableExists = true;
    });
  }

  private async deleteOldAttachments(): Promise<void> {
    if (this.stateValue !== "connected") return;
    try {
      await this.ensureTable();
      await this.pub.unsafe(
        `DELETE FROM ${this.tableName} WHERE created_at < now() - make_interval(secs => $1::double precision / 1000)`,
        [this.options.cleanupInterval],
      );
    } catch (err) {
      log.debug("old attachments not deleted", { err });
    }
  }

  private onNotify(channel: string, payload: string): void {
    const listener = this.channelListeners.get(channel);
    if (!listener) return;
    this.counters.received++;
    try {
      listener(payload);
    } catch (err) {
      this.counters.malformed++;
      log.warn("a notification could not be handled", { channel, err });
    }
  }

  private onSubscriberClosed(): void {
    if (this.stateValue === "closed") return;
    this.setState("degraded");
    this.scheduleRelisten();
  }

  private scheduleRelisten(): void {
    if (this.stateValue === "closed" || this.relistenTimer) return;
    const { reconnectMinDelayMs: min, reconnectMaxDelayMs: max } = this.options;
    // Exponential backoff with jitter so that a cluster does not reconnect in lock-step.
    const delay =
      Math.min(max, min * 2 ** Math.min(this.relistenAttempt++, 16)) * (0.75 + Math.random() * 0.5);
    this.relistenTimer = setTimeout(() => {
      this.relistenTimer = undefined;
      this.relisten();
    }, delay);
    this.relistenTimer.unref?.();
  }

  /** LISTENs to every channel on a fresh connection; on failure, tries again later. */
  private relisten(): void {
    const channels = [...this.channelListeners.keys()];
    const statement =
      channels.length > 0 ? channels.map((c) => `LISTEN ${quoteIdentifier(c)}`).join("; ") : "SELECT 1";
    this.sub
      .unsafe(statement)
      .simple()
      .then(() => {
        if (this.stateValue === "closed") return;
        // Channels registered while the LISTENs were in flight.
        for (const channel of this.channelListeners.keys())
          if (!channels.includes(channel))
            this.sub.unsafe(`LISTEN ${quoteIdentifier(channel)}`).catch(() => this.scheduleRelisten());
        if (this.relistenAttempt > 0 && this.stateValue === "degraded") this.counters.reconnects++;
        this.relistenAttempt = 0;
        this.setState("connected");
      })
      .catch((err: unknown) => {
        if (this.stateValue === "closed") return;
        log.debug("LISTEN not possible yet", { err });
        this.setState("degraded");
        this.scheduleRelisten();
      });
  }

  private setState(next: LinkState): void {
    if (this.stateValue === next || this.stateValue === "closed") return;
    const previous = this.stateValue;
    this.stateValue = next;
    if (next === "degraded") {
      log.error(
        "PostgreSQL unreachable: serving local clients only, cross-node delivery is off until it returns",
        { url: redact(this.options.url) },
      );
    } else if (next === "connected") {
      log.info(
        previous === "connecting"
          ? "listening on PostgreSQL"
          : "PostgreSQL is back: cluster delivery resumed",
        { url: redact(this.options.url) },
      );
    }
    this.emit("state", next, previous);
  }
}

/** A channel name as a quoted identifier, the way the official adapter writes `LISTEN "..."`. */
function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<invalid url>";
  }
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
