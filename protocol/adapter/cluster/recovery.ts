/**
 * Connection-state recovery across the nodes of a cluster, for an adapter whose store (Redis) keeps
 * one log of recoverable broadcasts per namespace and the sessions of disconnected sockets. The
 * store gives the order: every broadcast is in the log, with its offset, before any node delivers
 * it, and each node receives the live broadcasts of a namespace in log order. This class does the
 * bookkeeping that turns that into "every missed broadcast exactly once, in order":
 *
 * - a restore reads the session and the log after the client's offset in one store call; every
 *   live broadcast the node handles while that call is out is noted, and those the log answer did
 *   not hold yet are added to the missed packets (the answer and live traffic travel on different
 *   connections, so either may be read first);
 * - from the answer until the socket joins its rooms, live broadcasts it would receive are added to
 *   its missed packets too (the Socket.IO layer sends that same array right after CONNECT);
 * - once joined, a live copy of a broadcast at or before the last one it got that way is not
 *   delivered to it again (a copy still on its way during the restore).
 *
 * Sessions: written when a socket connects or its rooms change and a few times per window (so a
 * node that dies without a word leaves recoverable sessions), at a recoverable disconnect, and
 * dropped when a socket leaves for good.
 */
import { createLogger } from "../../logger.ts";
import type { Adapter } from "../adapter.ts";
import type { BroadcastOptions, Packet, Room, Session, SessionToPersist } from "../types.ts";

const log = createLogger("adapter:recovery");

/** Why a client that asked to recover got a fresh session instead (log field and metric label). */
export const NotRecoveredReason = {
  UNKNOWN_SESSION: "session unknown or expired",
  UNKNOWN_OFFSET: "offset unknown or expired",
  STORE_ERROR: "recovery store unreachable",
} as const;

/** Sessions recovered, and refusals by reason (`switchboard_recovery_*_total`). */
export interface RecoveryCounters {
  recovered: number;
  notRecovered: Record<string, number>;
}

export function newRecoveryCounters(): RecoveryCounters {
  return { recovered: 0, notRecovered: {} };
}

/** One broadcast of the log: its arguments (the offset last) and its audience. */
export interface LoggedBroadcast {
  offset: string;
  data: unknown[];
  rooms: Room[];
  except: Room[];
}

export type StoredState =
  | { found: "no-session" }
  | { found: "no-offset" }
  | { found: "ok"; session: SessionToPersist; broadcasts: LoggedBroadcast[] };

/** Where sessions and the broadcast log live (one namespace). */
export interface RecoveryStore {
  /** Takes the session of `pid` and reads the log after `offset`, atomically. */
  restore(pid: string, offset: string): Promise<StoredState>;
  saveSessions(sessions: SessionToPersist[]): Promise<void>;
  dropSession(pid: string): Promise<void>;
}

/** How offsets of the store look and compare. */
export interface OffsetOrder {
  isOffset(value: unknown): value is string;
  /** Negative, zero or positive as `a` is before, at or after `b`. */
  compare(a: string, b: string): number;
}

/** A broadcast a client may get back after a reconnection: an event without ack, not volatile. */
export function isRecoverable(packet: Packet, opts: BroadcastOptions): boolean {
  return packet.type === 2 && packet.id === undefined && !opts.flags?.volatile && Array.isArray(packet.data);
}

/** Would a socket in `rooms` have received a broadcast to `to` except `except`? */
export function wouldReceive(rooms: Room[], to: Iterable<Room>, except: Iterable<Room>): boolean {
  const toList = [...to];
  const included = toList.length === 0 || rooms.some((room) => toList.includes(room));
  if (!included) return false;
  const exceptSet = new Set(except);
  return !rooms.some((room) => exceptSet.has(room));
}

/** How long a recovered socket is shielded from live copies of broadcasts it got as missed. */
const WATERMARK_LIFETIME_MS = 30_000;
/** A store that has not answered a restore by then counts as unreachable: the client is not held. */
const RESTORE_TIMEOUT_MS = 3000;
/** A restored session whose socket never joins (the client left meanwhile) is forgotten after this. */
const ADMISSION_TIMEOUT_MS = 30_000;

interface Admitting {
  rooms: Room[];
  missed: unknown[][];
  watermark: string;
  timer: ReturnType<typeof setTimeout>;
}

/** What recovery needs of a live socket. */
interface LiveSocket {
  id: string;
  pid?: string;
  rooms: Set<Room>;
  data: unknown;
  connected: boolean;
}

export class ClusterRecovery {
  /** Restores waiting for the store: the live broadcasts handled meanwhile. */
  private readonly reading = new Set<LoggedBroadcast[]>();
  /** Restored sessions whose socket has not joined its rooms yet, by socket id. */
  private readonly admitting = new Map<string, Admitting>();
  /** Joined recovered sockets → the last offset they got as missed. */
  private readonly watermarks = new Map<string, string>();
  private readonly dirty = new Set<string>();
  /** Sockets whose session was just persisted (a recoverable disconnect). */
  private readonly persisted = new Set<string>();
  private readonly snapshotTimer: ReturnType<typeof setInterval>;

  constructor(
    private readonly adapter: Adapter,
    private readonly store: RecoveryStore,
    private readonly order: OffsetOrder,
    private readonly counters: RecoveryCounters,
    /** Identifies the namespace in logs (e.g. its channel). */
    private readonly logFields: Record<string, unknown>,
    window: number,
  ) {
    // Every live session is rewritten a few times per window: a node killed without a word
    // leaves sessions that stay recoverable for about the window, with rooms and data that fresh.
    this.snapshotTimer = setInterval(() => this.snapshot(true), Math.max(200, Math.floor(window / 3)));
    this.snapshotTimer.unref?.();
    adapter.on("join-room", (_room: Room, id: string) => this.markDirty(id));
    adapter.on("leave-room", (_room: Room, id: string) => this.markDirty(id));
  }

  close(): void {
    clearInterval(this.snapshotTimer);
    for (const entry of this.admitting.values()) clearTimeout(entry.timer);
    this.admitting.clear();
    this.watermarks.clear();
  }

  /**
   * A recoverable broadcast this node is about to deliver from the live stream (in log order):
   * returns the options to deliver it with (recovered sockets that already got it excluded).
   */
  live(data: unknown[], opts: BroadcastOptions): BroadcastOptions {
    const offset = data[data.length - 1];
    if (!this.order.isOffset(offset)) return opts;
    if (this.reading.size > 0) {
      const entry = { offset, data, rooms: [...opts.rooms], except: [...(opts.except ?? [])] };
      for (const seen of this.reading) seen.push(entry);
    }
    for (const entry of this.admitting.values())
      if (this.order.compare(offset, entry.watermark) > 0) {
        entry.watermark = offset;
        if (wouldReceive(entry.rooms, opts.rooms, opts.except ?? [])) entry.missed.push([...data]);
      }
    if (this.watermarks.size === 0) return opts;
    let except: Set<Room> | undefined;
    for (const [sid, watermark] of this.watermarks) {
      if (this.order.compare(offset, watermark) <= 0) {
        except ??= new Set(opts.except ?? []);
        except.add(sid);
      } else {
        // Live traffic arrives in log order: nothing at or before the watermark can follow.
        this.watermarks.delete(sid);
      }
    }
    return except ? { ...opts, except } : opts;
  }

  /** Reads the session and what it missed; null (logged, counted) when it cannot be recovered. */
  async restore(pid: string, offset: string): Promise<Session | null> {
    if (!this.order.isOffset(offset)) return this.notRecovered(NotRecoveredReason.UNKNOWN_OFFSET);
    const seen: LoggedBroadcast[] = [];
    this.reading.add(seen);
    let state: StoredState;
    try {
      state = await deadline(this.store.restore(pid, offset), RESTORE_TIMEOUT_MS);
    } catch (err) {
      this.reading.delete(seen);
      log.warn("recovery store unreachable", { ...this.logFields, err });
      return this.notRecovered(NotRecoveredReason.STORE_ERROR);
    }
    // From here to the return nothing yields: a live broadcast is either in `seen` or comes after.
    this.reading.delete(seen);
    if (state.found === "no-session") return this.notRecovered(NotRecoveredReason.UNKNOWN_SESSION);
    if (state.found === "no-offset") return this.notRecovered(NotRecoveredReason.UNKNOWN_OFFSET);
    const { session, broadcasts } = state;
    let watermark = offset;
    const missed: unknown[][] = [];
    for (const entry of [...broadcasts, ...seen]) {
      if (this.order.compare(entry.offset, watermark) <= 0) continue;
      watermark = entry.offset;
      if (wouldReceive(session.rooms, entry.rooms, entry.except)) missed.push([...entry.data]);
    }
    const previous = this.admitting.get(session.sid);
    if (previous) clearTimeout(previous.timer);
    const timer = setTimeout(() => this.admitting.delete(session.sid), ADMISSION_TIMEOUT_MS);
    timer.unref?.();
    this.admitting.set(session.sid, { rooms: session.rooms, missed, watermark, timer });
    this.counters.recovered++;
    return { ...session, missedPackets: missed };
  }

  /** A socket joins rooms (the adapter's `addAll`): a restored one is now live. */
  joined(id: string): void {
    const entry = this.admitting.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.admitting.delete(id);
    this.watermarks.set(id, entry.watermark);
    setTimeout(() => {
      if (this.watermarks.get(id) === entry.watermark) this.watermarks.delete(id);
    }, WATERMARK_LIFETIME_MS).unref?.();
  }

  persist(session: SessionToPersist): void {
    this.persisted.add(session.sid);
    this.store
      .saveSessions([session])
      .catch((err: unknown) => log.warn("session not stored for recovery", { ...this.logFields, err }));
  }

  /**
   * A socket leaving (the adapter's `delAll`): unless its session was just persisted (a
   * recoverable disconnect), its live snapshot is dropped, so a client that left for good does not
   * come back as recovered.
   */
  left(id: string): void {
    const socket = this.adapter.nsp.sockets.get(id) as unknown as LiveSocket | undefined;
    if (socket?.pid && !this.persisted.delete(id)) this.store.dropSession(socket.pid).catch(() => {});
  }

  private notRecovered(reason: string): null {
    log.info("connection state not recovered: the client gets a fresh session", {
      ...this.logFields,
      reason,
    });
    this.counters.notRecovered[reason] = (this.counters.notRecovered[reason] ?? 0) + 1;
    return null;
  }

  private markDirty(id: string): void {
    if (this.dirty.size === 0) queueMicrotask(() => this.snapshot(false));
    this.dirty.add(id);
  }

  /** Writes the sessions of the marked live sockets, or of every live socket. */
  private snapshot(all: boolean): void {
    const ids = all ? [...this.adapter.nsp.sockets.keys()] : [...this.dirty];
    this.dirty.clear();
    const sessions: SessionToPersist[] = [];
    for (const id of ids) {
      const socket = this.adapter.nsp.sockets.get(id) as unknown as LiveSocket | undefined;
      if (socket?.pid && socket.connected)
        sessions.push({ sid: socket.id, pid: socket.pid, rooms: [...socket.rooms], data: socket.data });
    }
    if (sessions.length === 0) return;
    this.store
      .saveSessions(sessions)
      .catch((err: unknown) => log.warn("live sessions not stored for recovery", { ...this.logFields, err }));
  }
}

function deadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
