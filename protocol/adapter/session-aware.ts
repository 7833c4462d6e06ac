/**
 * The in-memory adapter with connection-state recovery (socket.io 4.6+): every broadcast event
 * without an ack gets an offset as its last argument and is kept for `maxDisconnectionDuration`; a
 * socket that disconnects for a recoverable reason leaves its session here; a client that comes back
 * with `{pid, offset}` gets the session and the packets it missed. The store is bounded in time and
 * in count (`maxStoredPackets`), so memory does not grow with the message rate.
 */
import { randomBytes } from "node:crypto";
import { PacketType } from "socket.io-parser";
import { Adapter } from "./adapter.ts";
import type { AnyNamespace } from "./host.ts";
import type { BroadcastOptions, Packet, Room, Session, SessionToPersist } from "./types.ts";

/** How often expired sessions and packets are dropped. */
const CLEANUP_INTERVAL_MS = 60_000;

interface StoredPacket {
  /** Position in the namespace's sequence of broadcasts; the offset is it in base 36 after a prefix. */
  seq: number;
  offset: string;
  emittedAt: number;
  opts: BroadcastOptions;
  data: unknown[];
}

interface StoredSession extends SessionToPersist {
  disconnectedAt: number;
}

/** Would a socket in `rooms` have received a broadcast with these options? */
function wouldReceive(rooms: Room[], opts: BroadcastOptions): boolean {
  const included = opts.rooms.size === 0 || rooms.some((room) => opts.rooms.has(room));
  const excluded = opts.except !== undefined && rooms.some((room) => opts.except?.has(room));
  return included && !excluded;
}

export class SessionAwareAdapter extends Adapter {
  private readonly maxDisconnectionDuration: number;
  private readonly maxStoredPackets: number;
  private readonly sessions = new Map<string, StoredSession>();
  /** Stored broadcasts, oldest first (emittedAt never decreases). */
  private packets: StoredPacket[] = [];
  private readonly offsetPrefix = randomBytes(6).toString("base64url");
  private offsetCounter = 0;
  private readonly cleanupTimer: ReturnType<typeof setInterval>;

  constructor(nsp: AnyNamespace) {
    super(nsp);
    const recovery = nsp.server.opts.connectionStateRecovery;
    this.maxDisconnectionDuration = recovery?.maxDisconnectionDuration ?? 0;
    this.maxStoredPackets = recovery?.maxStoredPackets ?? Number.POSITIVE_INFINITY;
    this.cleanupTimer = setInterval(() => this.dropExpired(Date.now()), CLEANUP_INTERVAL_MS);
    this.cleanupTimer.unref?.();
  }

  override close(): void {
    clearInterval(this.cleanupTimer);
  }

  override persistSession(session: SessionToPersist): void {
    this.sessions.set(session.pid, { ...session, disconnectedAt: Date.now() });
  }

  override restoreSession(pid: string, offset: string): Promise<Session | null> {
    const session = this.sessions.get(pid);
    if (!session) return Promise.resolve(null);
    if (session.disconnectedAt + this.maxDisconnectionDuration < Date.now()) {
      this.sessions.delete(pid);
      return Promise.resolve(null);
    }
    const index = this.indexOf(offset);
    if (index === -1) return Promise.resolve(null);
    this.sessions.delete(pid);
    const missedPackets: unknown[][] = [];
    for (let i = index + 1; i < this.packets.length; i++) {
      const packet = this.packets[i]!;
      if (wouldReceive(session.rooms, packet.opts)) missedPackets.push(packet.data);
    }
    const { disconnectedAt: _, ...stored } = session;
    return Promise.resolve({ ...stored, missedPackets });
  }

  override broadcast(packet: Packet, opts: BroadcastOptions): void {
    const recoverable = packet.type === PacketType.EVENT && packet.id === undefined && !opts.flags?.volatile;
    if (recoverable && Array.isArray(packet.data)) {
      const seq = this.offsetCounter++;
      const offset = `${this.offsetPrefix}${seq.toString(36)}`;
      packet.data.push(offset);
      this.packets.push({ seq, offset, emittedAt: Date.now(), opts, data: packet.data });
      // Dropped in chunks of a tenth so the copy is paid once per many broadcasts, not per broadcast.
      if (this.packets.length > this.maxStoredPackets)
        this.packets = this.packets.slice(Math.ceil(this.maxStoredPackets / 10));
    }
    super.broadcast(packet, opts);
  }

  /**
   * Where `offset` sits in the store, or -1. Stored packets have consecutive sequence numbers, so
   * the position is computed, not searched: a burst of reconnections costs no scan each.
   */
  private indexOf(offset: string): number {
    const first = this.packets[0];
    if (first === undefined || !offset.startsWith(this.offsetPrefix)) return -1;
    const seq = Number.parseInt(offset.slice(this.offsetPrefix.length), 36);
    const index = seq - first.seq;
    return this.packets[index]?.offset === offset ? index : -1;
  }

  private dropExpired(now: number): void {
    const cutoff = now - this.maxDisconnectionDuration;
    for (const [pid, session] of this.sessions)
      if (session.disconnectedAt < cutoff) this.sessions.delete(pid);
    const firstKept = this.packets.findIndex((packet) => packet.emittedAt >= cutoff);
    this.packets = firstKept === -1 ? [] : this.packets.slice(firstKept);
  }
}
