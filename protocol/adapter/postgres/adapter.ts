/**
 * The PostgreSQL cluster adapter of one namespace, wire-compatible with `@socket.io/postgres-adapter`
 * 0.5 and `@socket.io/postgres-emitter`:
 *
 * - channel `<channelPrefix>#<nsp>` (e.g. `socket.io#/`), LISTENed by every node of the namespace;
 * - each message is the JSON of a cluster message (cluster/messages.ts) sent with `pg_notify`;
 * - a message holding binary, or whose JSON reaches `payloadThreshold` bytes (NOTIFY payloads
 *   must stay under 8000), is stored msgpack-encoded in the attachments table and only
 *   `{uid, type, attachmentId}` is notified; receivers read the row.
 *
 * Notifications of a namespace are handled one at a time in arrival order, including those whose
 * body must first be read from the attachments table, so a large message never overtakes a small
 * one sent after it.
 */
import { decode as msgpackDecode, encode as msgpackEncode } from "notepack.io";
import { createLogger } from "../../logger.ts";
import { asBuffer } from "../bytes.ts";
import { ClusterAdapter, type ClusterAdapterOptions } from "../cluster/adapter.ts";
import {
  type ClusterMessage,
  checkMessage,
  hasBinary,
  MalformedMessageError,
  MalformedReason,
} from "../cluster/messages.ts";
import { NotRecoveredReason } from "../cluster/recovery.ts";
import type { AnyNamespace } from "../host.ts";
import type { BroadcastOptions, Packet, Room, Session, SessionToPersist } from "../types.ts";
import type { LinkState, PostgresLink } from "./link.ts";
import { PostgresRecoveryLog } from "./recovery.ts";

const log = createLogger("adapter:postgres");

export interface PostgresAdapterOptions extends ClusterAdapterOptions {
  /** Channel prefix: the channel of namespace `/x` is `<prefix>#/x`. Default "socket.io". */
  channelPrefix?: string;
  /** JSON messages of this many bytes or more go through the attachments table. Default 8000. */
  payloadThreshold?: number;
}

export const POSTGRES_ADAPTER_DEFAULTS = {
  channelPrefix: "socket.io",
  payloadThreshold: 8000,
} as const;

/** The reasons are shared with the Redis adapters (cluster/recovery.ts): one set of metric labels. */
export { NotRecoveredReason };

/** Would a socket in `rooms` have received a broadcast to `to` except `except`? */
function wouldReceive(rooms: Room[], to: string[], except: string[]): boolean {
  const included = to.length === 0 || rooms.some((room) => to.includes(room));
  return included && !rooms.some((room) => except.includes(room));
}

/** How long a recovered socket is shielded from live copies of broadcasts it got from the log. */
const WATERMARK_LIFETIME_MS = 30_000;

/** Malformed traffic is logged at most once per interval. */
const MALFORMED_LOG_INTERVAL_MS = 5000;

export class PostgresAdapter extends ClusterAdapter {
  readonly channel: string;
  private readonly payloadThreshold: number;
  /**
   * Notifications of this namespace, handled strictly one after the other; with recovery, this
   * node's recoverable broadcasts and the restoring of sessions run in the same line, so a
   * restore sees a still picture: nothing is delivered between reading the log and the recovered
   * socket joining its rooms.
   */
  private queue: Promise<void> = Promise.resolve();
  /**
   * Recovered sockets → the last offset they got from the log: a live copy of an older broadcast
   * (its notification was still on its way during the restore) is not delivered to them again.
   */
  private readonly watermarks = new Map<string, bigint>();
  private lastMalformedLog = 0;
  /** Set when the server has connection-state recovery on: sessions and broadcasts kept in the database. */
  private readonly recovery: PostgresRecoveryLog | undefined;
  /** Live sockets whose session snapshot must be written (rooms changed, or just connected). */
  private readonly dirtySessions = new Set<string>();
  private snapshotTimer: ReturnType<typeof setInterval> | undefined;
  /** Sockets whose session was just persisted for recovery (a recoverable disconnect). */
  private readonly persisted = new Set<string>();
  private readonly onLinkState = (state: LinkState) => {
    // Heartbeats may have been missed while the database was away: be counted again at once.
    if (state === "connected") this.announce();
  };

  constructor(
    nsp: AnyNamespace,
    private readonly link: PostgresLink,
    options: PostgresAdapterOptions = {},
  ) {
    super(nsp, options);
    this.channel = `${options.channelPrefix ?? POSTGRES_ADAPTER_DEFAULTS.channelPrefix}#${nsp.name}`;
    this.payloadThreshold = options.payloadThreshold ?? POSTGRES_ADAPTER_DEFAULTS.payloadThreshold;
    const recovery = nsp.server.opts.connectionStateRecovery;
    if (recovery) {
      const window = recovery.maxDisconnectionDuration ?? 2 * 60_000;
      this.recovery = new PostgresRecoveryLog(link.sql, window);
      // Every live session is rewritten a few times per window: a node killed without a word
      // leaves sessions that stay recoverable for about the window, with rooms and data that fresh.
      this.snapshotTimer = setInterval(() => this.snapshot(true), Math.max(200, Math.floor(window / 3)));
      this.snapshotTimer.unref?.();
      this.on("join-room", (_room: Room, id: string) => this.markDirty(id));
      this.on("leave-room", (_room: Room, id: string) => this.markDirty(id));
    }
  }

  private markDirty(id: string): void {
    if (this.dirtySessions.size === 0) queueMicrotask(() => this.snapshot(false));
    this.dirtySessions.add(id);
  }

  /** Writes the sessions of the marked live sockets, or of every live socket. */
  private snapshot(all: boolean): void {
    const ids = all ? [...this.nsp.sockets.keys()] : [...this.dirtySessions];
    this.dirtySessions.clear();
    const sessions: SessionToPersist[] = [];
    for (const id of ids) {
      const socket = this.nsp.sockets.get(id) as
        | { id: string; pid?: string; rooms: Set<Room>; data: unknown; connected: boolean }
        | undefined;
      if (socket?.pid && socket.connected)
        sessions.push({ sid: socket.id, pid: socket.pid, rooms: [...socket.rooms], data: socket.data });
    }
    this.recovery
      ?.saveLiveSessions(this.channel, sessions)
      .catch((err: unknown) =>
        log.warn("live sessions not stored for recovery", { channel: this.channel, err }),
      );
  }

  /**
   * With recovery on, a recoverable broadcast (an event without ack, not volatile) is first logged
   * in the database; the log's id is its offset, appended as the last argument, and every node
   * delivers it with that offset. Without recovery it goes out at once.
   */
  override broadcast(packet: Packet, opts: BroadcastOptions): void {
    const recovery = this.recovery;
    if (!recovery) {
      super.broadcast(packet, opts);
      return;
    }
    packet.nsp = this.nsp.name;
    const data = packet.data as unknown[];
    const recoverable =
      packet.type === 2 &&
      packet.id === undefined &&
      !opts.flags?.volatile &&
      !opts.flags?.local &&
      Array.isArray(data);
    this.inLine(async () => {
      if (recoverable) {
        try {
          data.push(await recovery.append(this.channel, data, [...opts.rooms], [...(opts.except ?? [])]));
        } catch (err) {
          // Delivered anyway; a client that misses it cannot get it back: say so.
          log.warn("broadcast not logged for recovery", { channel: this.channel, err });
        }
      }
      super.broadcast(packet, this.withoutCaughtUp(packet, opts));
    });
  }

  protected override deliverRemoteBroadcast(packet: Packet, opts: BroadcastOptions): void {
    super.deliverRemoteBroadcast(packet, this.withoutCaughtUp(packet, opts));
  }

  /** `opts` excluding the recovered sockets that already got this packet from the log. */
  private withoutCaughtUp(packet: Packet, opts: BroadcastOptions): BroadcastOptions {
    if (this.watermarks.size === 0) return opts;
    const data = packet.data as unknown[];
    const offset = data[data.length - 1];
    if (typeof offset !== "string" || !/^\d{1,19}$/.test(offset)) return opts;
    const position = BigInt(offset);
    const except = new Set(opts.except ?? []);
    for (const [sid, watermark] of this.watermarks) if (position <= watermark) except.add(sid);
    return { ...opts, except };
  }

  override persistSession(session: SessionToPersist): void {
    this.persisted.add(session.sid);
    this.recovery
      ?.saveSession(this.channel, session)
      .catch((err: unknown) => log.warn("session not stored for recovery", { channel: this.channel, err }));
  }

  /**
   * A socket leaving: unless its session was just persisted (a recoverable disconnect), its live
   * snapshot is dropped, so a client that left for good does not come back as recovered.
   */
  override delAll(id: string): void {
    const socket = this.nsp.sockets.get(id) as { pid?: string } | undefined;
    if (this.recovery && socket?.pid && !this.persisted.delete(id))
      this.recovery.dropSession(socket.pid).catch(() => {});
    super.delAll(id);
  }

  /**
   * Runs in the namespace's line (see `queue`): reads the session and the log, hands the session
   * to the Socket.IO layer, and lets the line go on only once the socket had a chance to join its
   * rooms (admission is synchronous after the promise resolves).
   */
  override restoreSession(pid: string, offset: string): Promise<Session | null> {
    return new Promise<Session | null>((resolve) => {
      this.inLine(async () => {
        resolve(await this.readSession(pid, offset));
        await new Promise((admitted) => setImmediate(admitted));
      });
    });
  }

  private async readSession(pid: string, offset: string): Promise<Session | null> {
    const recovery = this.recovery;
    if (!recovery) return null;
    try {
      const session = await recovery.takeSession(this.channel, pid);
      if (!session) return this.notRecovered(NotRecoveredReason.UNKNOWN_SESSION);
      const packets = await recovery.after(this.channel, offset);
      if (!packets) return this.notRecovered(NotRecoveredReason.UNKNOWN_OFFSET);
      const missedPackets = packets
        .filter((p) => wouldReceive(session.rooms, p.rooms, p.except))
        .map((p) => [...p.data, p.offset]);
      const last = packets[packets.length - 1]?.offset ?? offset;
      this.watermarks.set(session.sid, BigInt(last));
      // Stragglers arrive within moments; the watermark is not needed after that.
      setTimeout(() => this.watermarks.delete(session.sid), WATERMARK_LIFETIME_MS).unref?.();
      this.link.recoveryCounters.recovered++;
      return { ...session, missedPackets };
    } catch (err) {
      log.warn("recovery store unreachable", { channel: this.channel, err });
      return this.notRecovered(NotRecoveredReason.STORE_ERROR);
    }
  }

  private notRecovered(reason: string): null {
    log.info("connection state not recovered: the client gets a fresh session", {
      channel: this.channel,
      reason,
    });
    const counts = this.link.recoveryCounters.notRecovered;
    counts[reason] = (counts[reason] ?? 0) + 1;
    return null;
  }

  /** Resolves once the channel is LISTENed (or at once while the database is away). */
  override async init(): Promise<void> {
    this.link.on("state", this.onLinkState);
    await this.link.listen(this.channel, (payload) => this.enqueue(payload));
    super.init();
  }

  override close(): void {
    clearInterval(this.snapshotTimer);
    super.close();
    this.link.off("state", this.onLinkState);
    this.link.unlisten(this.channel);
  }

  protected override onRequestTimeout(): void {
    this.link.counters.requestTimeouts++;
  }

  protected override async doPublish(message: ClusterMessage): Promise<void> {
    await this.send(message);
  }

  /** Responses share the namespace channel, as in the official adapter. */
  protected override async doPublishResponse(_requesterUid: string, response: ClusterMessage): Promise<void> {
    await this.send(response);
  }

  private async send(message: ClusterMessage): Promise<void> {
    if (hasBinary(message)) return void (await this.sendWithAttachment(message));
    const payload = JSON.stringify(message);
    if (Buffer.byteLength(payload) >= this.payloadThreshold)
      return void (await this.sendWithAttachment(message));
    await this.link.notify(this.channel, payload);
  }

  private sendWithAttachment(message: ClusterMessage): Promise<boolean> {
    return this.link.notifyWithAttachment(this.channel, message, msgpackEncode(message));
  }

  /** Runs `task` after everything already in the namespace's line; a failure never stops the line. */
  private inLine(task: () => Promise<void>): void {
    this.queue = this.queue
      .then(task)
      .catch((err: unknown) => log.warn("cluster task failed", { channel: this.channel, err }));
  }

  private enqueue(payload: string): void {
    this.queue = this.queue
      .then(() => this.handle(payload))
      .catch((err: unknown) => this.reportMalformed(err));
  }

  private async handle(payload: string): Promise<void> {
    let value: unknown;
    try {
      value = JSON.parse(payload);
    } catch {
      throw new MalformedMessageError(MalformedReason.NOT_DECODABLE);
    }
    const header = value as { uid?: unknown; attachmentId?: unknown } | null;
    // Its own messages come back through LISTEN: drop them before reading any attachment.
    if (header?.uid === this.uid) return;
    if (header && (typeof header.attachmentId === "string" || typeof header.attachmentId === "number")) {
      const bytes = await this.link.readAttachment(header.attachmentId);
      if (!bytes) {
        log.warn("an attachment could not be read: message lost", { attachmentId: header.attachmentId });
        return;
      }
      try {
        value = msgpackDecode(asBuffer(bytes));
      } catch {
        throw new MalformedMessageError(MalformedReason.NOT_DECODABLE);
      }
    }
    this.onMessage(checkMessage(value, this.nsp.name));
  }

  private reportMalformed(err: unknown): void {
    this.link.counters.malformed++;
    const now = Date.now();
    if (now - this.lastMalformedLog < MALFORMED_LOG_INTERVAL_MS) return;
    this.lastMalformedLog = now;
    if (err instanceof MalformedMessageError)
      log.warn("ignoring malformed notification", { channel: this.channel, reason: err.reason });
    else log.warn("a notification could not be handled", { channel: this.channel, err });
  }
}
