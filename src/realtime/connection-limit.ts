/**
 * At most N live sockets per user: when a new one connects beyond that, the OLDEST is told why
 * (`error {code: "connection_limit"}`) and disconnected, so a user who opens a new tab keeps working
 * and the stale tab knows not to reconnect blindly.
 *
 * In a cluster (`shared` given) the cap holds across every node and worker: each connection is
 * recorded in the cluster store, which atomically names the user's oldest connections beyond the
 * cap, wherever they are; those on another node are told and disconnected through the adapter.
 * Each node renews a lease on its live connections, so the connections of a node that died stop
 * counting within a lease. When the store cannot answer, this node's own count decides (fallback.ts).
 */
import type { FallbackOptions } from "../limits/fallback.ts";
import { StoreGuard } from "../limits/fallback.ts";
import type { ConnectionStore } from "../limits/shared-store.ts";
import { ERROR_CODES } from "../shared/events.ts";
import { type ChatSocket, errorEvent } from "./types.ts";

export const CONNECTION_LIMIT_MESSAGE =
  "disconnected: this user opened too many connections (the oldest is closed)";

/** A connection's lease in the cluster store, in ms; renewed every third of it. */
export const CONNECTION_LEASE_MS = 30_000;

export interface SharedConnectionLimit extends FallbackOptions {
  store: ConnectionStore;
  /** False while the cluster store is known to be unreachable. */
  available(): boolean;
  /** Tells and disconnects a socket of this namespace on whichever node holds it. */
  evictRemote(socketId: string, error: ReturnType<typeof errorEvent>): void;
  /** Lease of a connection, in ms. Default CONNECTION_LEASE_MS. */
  leaseMs?: number;
}

export class ConnectionLimiter {
  readonly #byUser = new Map<string, ChatSocket[]>();
  readonly #shared: SharedConnectionLimit | undefined;
  readonly #guard: StoreGuard | undefined;
  readonly #leaseMs: number;
  #renewTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly maxPerUser: number,
    shared?: SharedConnectionLimit,
  ) {
    this.#shared = shared;
    this.#leaseMs = shared?.leaseMs ?? CONNECTION_LEASE_MS;
    if (shared) {
      this.#guard = new StoreGuard("connection", shared.available, shared);
      this.#renewTimer = setInterval(() => this.#renewLeases(), Math.max(100, this.#leaseMs / 3));
      this.#renewTimer.unref?.();
    }
  }

  /** Checks answered by this node's own count because the cluster store could not answer. */
  get fallbacks(): number {
    return this.#guard?.counters.fallbacks ?? 0;
  }

  /** Registers a connected socket; pushes out the oldest sockets beyond the cap (cluster-wide when shared). */
  add(socket: ChatSocket): void {
    const userId = socket.data.user_id;
    const list = this.#byUser.get(userId) ?? [];
    list.push(socket);
    this.#byUser.set(userId, list);
    const shared = this.#shared;
    if (!shared || !this.#guard) {
      this.#enforceLocally(list);
      return;
    }
    const entry = { userId, connectionId: socket.id, connectedAt: Date.now() };
    void this.#guard
      .run(
        () => shared.store.open(entry, this.maxPerUser, this.#leaseMs),
        () => null,
      )
      .then((evicted) => {
        if (evicted === null) return this.#enforceLocally(list);
        for (const id of evicted) {
          const local = list.find((s) => s.id === id);
          if (local) this.#evict(local, list);
          else shared.evictRemote(id, errorEvent(ERROR_CODES.connectionLimit, CONNECTION_LIMIT_MESSAGE));
        }
      });
  }

  remove(socket: ChatSocket): void {
    const userId = socket.data.user_id;
    const list = this.#byUser.get(userId);
    if (!list) return;
    const i = list.indexOf(socket);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.#byUser.delete(userId);
    this.#shared?.store.close({ userId, connectionId: socket.id }).catch(() => {});
  }

  count(userId: string): number {
    return this.#byUser.get(userId)?.length ?? 0;
  }

  close(): void {
    clearInterval(this.#renewTimer);
  }

  #enforceLocally(list: ChatSocket[]): void {
    while (list.length > this.maxPerUser) this.#evict(list[0]!, list);
  }

  #evict(socket: ChatSocket, list: ChatSocket[]): void {
    const i = list.indexOf(socket);
    if (i >= 0) list.splice(i, 1);
    socket.emit("error", errorEvent(ERROR_CODES.connectionLimit, CONNECTION_LIMIT_MESSAGE));
    socket.disconnect(true);
  }

  #renewLeases(): void {
    const entries = [...this.#byUser.values()]
      .flat()
      .map((s) => ({ userId: s.data.user_id, connectionId: s.id }));
    if (entries.length === 0 || !this.#shared?.available()) return;
    this.#shared.store.refresh(entries, this.#leaseMs).catch(() => {});
  }
}
