/**
 * Presence, computed from the live sockets of the whole cluster (fetchSockets is cluster-wide):
 * a user is `online` while one of their connections anywhere says online, `away` while they are
 * connected but every connection says away (`presence:set`), `offline` with no connection.
 *
 * - Transitions are announced as `presence:updated` to the organization's rooms (inbox and queue):
 *   on a user's first connection, on their last disconnection, and on `presence:set`.
 * - A node that dies takes its sockets with it: nobody sees them disconnect. In a cluster every
 *   node therefore sweeps: every `sweepMs` it fetches the cluster's sockets and announces the users
 *   that vanished (or appeared) since its previous sweep. Duplicates of a status from several
 *   nodes are harmless: a status event is idempotent.
 * - `away` lives on the sockets (socket.data.away) so it dies with them; a new connection of a user
 *   who is away elsewhere inherits it.
 */
import { eq } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { users } from "../../db/schema.ts";
import { createLogger } from "../../protocol/logger.ts";
import { mayBeAssigned } from "../services/access.ts";
import {
  type ConversationViewersEvent,
  organizationInboxRoom,
  organizationQueueRoom,
  type PresenceEvent,
  type PresenceStatus,
  type Uuid,
  userRoom,
} from "../shared/events.ts";
import type { ChatServer, ChatSocket } from "./types.ts";

const log = createLogger("realtime");

/** Default sweep period: a dead node's agents are offline within twice this (well under 15 s). */
export const PRESENCE_SWEEP_MS = 5000;

/** Joins and leaves of one conversation within this window are announced once. */
export const VIEWERS_DELAY_MS = 100;

interface SocketView {
  readonly id: string;
  readonly data: { user_id: Uuid; organization_id: Uuid; user_name: string; away?: boolean };
}

const orgRooms = (org: Uuid) => [organizationInboxRoom(org), organizationQueueRoom(org)];

/** The status of one user from their live sockets. */
export function statusOf(sockets: readonly SocketView[]): PresenceStatus {
  if (sockets.length === 0) return "offline";
  return sockets.some((s) => !s.data.away) ? "online" : "away";
}

export class Presence {
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #viewerAnnouncements = new Map<string, Promise<void>>();
  /** Per user: [organization, status] as of the previous sweep. */
  #lastSweep = new Map<Uuid, [Uuid, PresenceStatus]>();

  constructor(
    private readonly io: ChatServer,
    private readonly db: Database,
    options: { sweepMs?: number | null } = {},
  ) {
    // Another node changed a user's away flag: apply it to this node's sockets of that user.
    this.io.on("presence:away", (userId, away) => {
      void this.#setLocalAway(userId, away);
    });
    if (options.sweepMs) {
      this.#timer = setInterval(() => {
        this.sweep().catch((error) => log.warn("presence sweep failed", { error }));
      }, options.sweepMs);
      this.#timer.unref?.();
    }
  }

  async #userSockets(userId: Uuid): Promise<SocketView[]> {
    return (await this.io.in(userRoom(userId)).fetchSockets()) as unknown as SocketView[];
  }

  #announce(organizationId: Uuid, event: PresenceEvent): void {
    this.io.to(orgRooms(organizationId)).emit("presence:updated", event);
  }

  /** This node's sockets of a user, from the adapter's room index (no allocation, no cluster request). */
  #localIds(userId: Uuid): ReadonlySet<string> | undefined {
    return this.io.of("/").adapter.rooms.get(userRoom(userId));
  }

  /** After the socket joined its rooms: the first connection makes the user online (or inherits away). */
  async connected(socket: ChatSocket): Promise<void> {
    // Another socket of the user on this node: already present; inherit its flag without asking the cluster.
    const local = this.#localIds(socket.data.user_id);
    if (local && local.size > 1) {
      for (const id of local) {
        const other = id === socket.id ? undefined : this.io.of("/").sockets.get(id);
        if (other) {
          if (other.data.away) socket.data.away = true;
          return;
        }
      }
    }
    const others = (await this.#userSockets(socket.data.user_id)).filter((s) => s.id !== socket.id);
    if (others.length > 0) {
      if (others.every((s) => s.data.away)) socket.data.away = true;
      return;
    }
    this.#announce(socket.data.organization_id, { user_id: socket.data.user_id, status: "online" });
  }

  /** After the socket left its rooms: the last connection gone makes the user offline. */
  async disconnected(data: SocketView["data"]): Promise<void> {
    if ((this.#localIds(data.user_id)?.size ?? 0) > 0) return; // still connected on this node
    const left = await this.#userSockets(data.user_id);
    if (left.length === 0) this.#announce(data.organization_id, { user_id: data.user_id, status: "offline" });
  }

  /** `presence:set`: every connection of the user, on every node, takes the flag. */
  async set(socket: ChatSocket, status: "online" | "away"): Promise<PresenceEvent> {
    const away = status === "away";
    const userId = socket.data.user_id;
    this.io.serverSideEmit("presence:away", userId, away);
    await this.#setLocalAway(userId, away);
    const event = { user_id: userId, status };
    this.#announce(socket.data.organization_id, event);
    return event;
  }

  async #setLocalAway(userId: Uuid, away: boolean): Promise<void> {
    const mine = (await this.io.local.in(userRoom(userId)).fetchSockets()) as unknown as SocketView[];
    for (const s of mine) s.data.away = away;
  }

  /** GET /api/v1/presence: the organization's agents and admins (active) with their status. */
  async list(
    organizationId: Uuid,
  ): Promise<
    { user_id: Uuid; name: string; role: "org_admin" | "agent" | "viewer"; status: PresenceStatus }[]
  > {
    const [members, sockets] = await Promise.all([
      this.db
        .select({ id: users.id, name: users.name, role: users.role, active: users.active })
        .from(users)
        .where(eq(users.organizationId, organizationId)),
      this.io.in(orgRooms(organizationId)).fetchSockets() as unknown as Promise<SocketView[]>,
    ]);
    const byUser = groupByUser(sockets);
    return members
      .filter((m) => m.active && mayBeAssigned(m.role))
      .map((m) => ({ user_id: m.id, name: m.name, role: m.role, status: statusOf(byUser.get(m.id) ?? []) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One sweep (see the module comment). Public for tests. */
  async sweep(): Promise<void> {
    const sockets = (await this.io.fetchSockets()) as unknown as SocketView[];
    const now = new Map<Uuid, [Uuid, PresenceStatus]>();
    for (const [userId, mine] of groupByUser(sockets))
      now.set(userId, [mine[0]!.data.organization_id, statusOf(mine)]);
    for (const [userId, [org, status]] of this.#lastSweep)
      if (!now.has(userId) && status !== "offline")
        this.#announce(org, { user_id: userId, status: "offline" });
    this.#lastSweep = now;
  }

  /**
   * Who is watching (has joined) a conversation, to its room. Coalesced per room over VIEWERS_DELAY_MS:
   * a burst of joins (a reconnect storm) costs one cluster fetch and one event, not one per join.
   * Never rejects (a failure is logged).
   */
  announceViewers(room: string, conversationId: Uuid): Promise<void> {
    let pending = this.#viewerAnnouncements.get(room);
    if (!pending) {
      pending = Bun.sleep(VIEWERS_DELAY_MS)
        .then(() => {
          this.#viewerAnnouncements.delete(room);
          return this.#sendViewers(room, conversationId);
        })
        .catch((error) => log.warn("viewers update failed", { room, error }));
      this.#viewerAnnouncements.set(room, pending);
    }
    return pending;
  }

  async #sendViewers(room: string, conversationId: Uuid): Promise<void> {
    const sockets = (await this.io.in(room).fetchSockets()) as unknown as SocketView[];
    const seen = new Map<Uuid, string>();
    for (const s of sockets) seen.set(s.data.user_id, s.data.user_name);
    const event: ConversationViewersEvent = {
      conversation_id: conversationId,
      viewers: [...seen].map(([user_id, user_name]) => ({ user_id, user_name })),
    };
    this.io.to(room).emit("conversation:viewers", event);
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}

function groupByUser(sockets: readonly SocketView[]): Map<Uuid, SocketView[]> {
  const byUser = new Map<Uuid, SocketView[]>();
  for (const s of sockets) {
    const list = byUser.get(s.data.user_id);
    if (list) list.push(s);
    else byUser.set(s.data.user_id, [s]);
  }
  return byUser;
}
