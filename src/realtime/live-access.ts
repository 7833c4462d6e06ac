/**
 * Access that follows every change, on every node: when an input of the access rule changes (an
 * assignment, a role, an organization, an active flag, a logout), the live sockets concerned are
 * brought in line at once through the adapter's cluster operations (fetchSockets, RemoteSocket
 * leave/emit, disconnectSockets), so it holds over Redis exactly as on one node.
 *
 * socket.data (role, organization, name) lives on the node that owns the socket and cannot be
 * written from another node: the owner of a change tells every node with a server-side event
 * (`access:user_changed`), and each node refreshes the data of its own sockets of that user.
 */
import { inArray } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { conversations, type UserRow } from "../../db/schema.ts";
import { createLogger } from "../../protocol/logger.ts";
import { type ConversationScope, mayRead, organizationRoomFor, type Principal } from "../services/access.ts";
import type { LiveAccess } from "../services/live-access.ts";
import { findUserById } from "../services/users.ts";
import {
  conversationRoom,
  ERROR_CODES,
  type LeftConversation,
  type Uuid,
  userRoom,
} from "../shared/events.ts";
import { type ChatServer, errorEvent } from "./types.ts";

const log = createLogger("realtime");

const CONVERSATION_PREFIX = "conversation:";
const ORG_ROOM = /^org:[^:]+:(inbox|queue)$/;

export const ACCESS_REVOKED_MESSAGE = "you may no longer watch this conversation";
export const ACCOUNT_DISABLED_MESSAGE = "this account is deactivated";

/** The wire payload of a server-side removal from a conversation. */
export const revokedPayload = (conversationId: Uuid): LeftConversation => ({
  conversation_id: conversationId,
  message: ACCESS_REVOKED_MESSAGE,
  reason: "access_revoked",
});

/** What a socket, local or remote, offers for reconciliation. */
interface SocketHandle {
  readonly id: string;
  readonly rooms: Set<string>;
  readonly data: { user_id: Uuid; organization_id: Uuid; role: Principal["role"] };
  leave(room: string): unknown;
  join(room: string | string[]): unknown;
  emit(ev: "left_conversation", payload: LeftConversation): unknown;
}

export const principalOfUser = (user: UserRow): Principal => ({
  user_id: user.id,
  organization_id: user.organizationId,
  role: user.role,
});

export class RealtimeLiveAccess implements LiveAccess {
  constructor(
    private readonly io: ChatServer,
    private readonly db: Database,
    /** Told after sockets were taken out of a conversation (its viewers changed). */
    private readonly onRevoked: (conversationId: Uuid) => void = () => {},
  ) {
    // Another node changed a user: refresh the data of this node's sockets of that user.
    this.io.on("access:user_changed", (userId) => {
      if (typeof userId === "string")
        this.#refreshLocalData(userId).catch((error) =>
          log.warn("could not refresh a user's sockets", { user_id: userId, error }),
        );
    });
  }

  async conversationChanged(conversation: ConversationScope & { id: Uuid }): Promise<void> {
    const room = conversationRoom(conversation.id);
    const sockets = (await this.io.in(room).fetchSockets()) as unknown as SocketHandle[];
    const revoked = sockets.filter((socket) => !mayRead(socket.data, conversation));
    for (const socket of revoked) revoke(socket, conversation.id);
    if (revoked.length > 0) this.onRevoked(conversation.id);
  }

  userChanged(userId: Uuid): Promise<void> {
    return this.reconcileUser(userId);
  }

  /** See LiveAccess.userChanged. Exported for the administration code and for tests. */
  async reconcileUser(userId: Uuid): Promise<void> {
    const user = await findUserById(this.db, userId);
    const room = userRoom(userId);
    if (!user?.active) {
      this.io.to(room).emit("error", errorEvent(ERROR_CODES.accountDisabled, ACCOUNT_DISABLED_MESSAGE));
      this.io.in(room).disconnectSockets(true);
      return;
    }
    this.io.serverSideEmit("access:user_changed", userId);
    await this.#refreshLocalData(userId, user);
    const principal = principalOfUser(user);
    const sockets = (await this.io.in(room).fetchSockets()) as unknown as SocketHandle[];
    const ids = new Set<Uuid>();
    for (const s of sockets)
      for (const r of s.rooms)
        if (r.startsWith(CONVERSATION_PREFIX)) ids.add(r.slice(CONVERSATION_PREFIX.length));
    const rows =
      ids.size === 0
        ? []
        : await this.db
            .select({
              id: conversations.id,
              organizationId: conversations.organizationId,
              assignedAgentId: conversations.assignedAgentId,
            })
            .from(conversations)
            .where(inArray(conversations.id, [...ids]));
    const byId = new Map(rows.map((r) => [r.id, r]));
    const orgRoom = organizationRoomFor(principal.role, principal.organization_id);
    for (const socket of sockets) {
      for (const r of socket.rooms) {
        if (r.startsWith(CONVERSATION_PREFIX)) {
          const id = r.slice(CONVERSATION_PREFIX.length);
          if (!mayRead(principal, byId.get(id) ?? null)) revoke(socket, id);
        } else if (ORG_ROOM.test(r) && r !== orgRoom) socket.leave(r);
      }
      if (!socket.rooms.has(orgRoom)) socket.join(orgRoom);
    }
  }

  /** This node's sockets of `userId` get the stored role, organization and name. */
  async #refreshLocalData(userId: Uuid, known?: UserRow): Promise<void> {
    const mine = (await this.io.local.in(userRoom(userId)).fetchSockets()) as unknown as SocketHandle[];
    if (mine.length === 0) return;
    const user = known ?? (await findUserById(this.db, userId));
    if (!user?.active) return; // the owner of the change disconnects them
    for (const socket of mine)
      Object.assign(socket.data, {
        role: user.role,
        organization_id: user.organizationId,
        user_name: user.name,
      });
  }
}

function revoke(socket: SocketHandle, conversationId: Uuid): void {
  socket.leave(conversationRoom(conversationId));
  socket.emit("left_conversation", revokedPayload(conversationId));
}
