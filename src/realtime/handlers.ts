/**
 * The chat's client events on one connected socket. Each handler validates its payload, answers
 * with an event (and the optional ack), and refuses with `error {message, code, event}`.
 * Access rule: src/services/access.ts (decideAccess), the one place that decides it.
 */
import { createLogger } from "../../protocol/logger.ts";
import { authenticateAccessToken } from "../auth/access.ts";
import { TokenError } from "../auth/tokens.ts";
import type { AppContext } from "../context.ts";
import { decideAccess, mayWriteAtAll } from "../services/access.ts";
import { findConversation } from "../services/conversations.ts";
import {
  type AckResponse,
  conversationRoom,
  ERROR_CODES,
  type ErrorCode,
  type ServerToClientEvents,
} from "../shared/events.ts";
import { cleanDeep } from "../shared/text.ts";
import { UUID_RE } from "../shared/uuid.ts";
import type { RealtimeLiveAccess } from "./live-access.ts";
import type { Presence } from "./presence.ts";
import type { SessionExpiry } from "./session-expiry.ts";
import { type ChatSocket, errorEvent } from "./types.ts";
import type { TypingTracker } from "./typing.ts";

const log = createLogger("realtime");
const CONVERSATION_PREFIX = "conversation:";

export const REALTIME_MESSAGES = {
  connected: "connected to Switchboard",
  joined: "joined conversation",
  left: "left conversation",
  badConversationId: "conversation_id must be a UUID",
  notFound: "conversation not found",
  assignedElsewhere: "this conversation is assigned to another agent",
  viewerReadOnly: "viewers cannot type in conversations",
  notJoined: "join the conversation before typing in it",
  tooMany: "too many conversations joined on this connection; leave one first",
  badToken: "token is required",
  badPresence: 'status must be "online" or "away"',
  otherUser: "the new token belongs to another user",
  internal: "internal error; retry later",
} as const;

type AnyAck = (response: AckResponse<Record<string, unknown>>) => void;

interface Deps {
  ctx: AppContext;
  typing: TypingTracker;
  expiry: SessionExpiry;
  /** Counts an emit to this socket in the metrics. */
  count: (event: keyof ServerToClientEvents) => void;
  liveAccess: RealtimeLiveAccess;
  presence: Presence;
}

/**
 * Splits `(payload?, ack?)` so clients may omit the payload or the ack. Every string of the payload
 * passes the one text rule (src/shared/text.ts) here, so no handler sees raw socket text.
 */
function split(args: unknown[]): { payload: unknown; ack: AnyAck | undefined } {
  const last = args[args.length - 1];
  const ack = typeof last === "function" ? (last as AnyAck) : undefined;
  return { payload: cleanDeep(ack ? (args.length > 1 ? args[0] : undefined) : args[0]), ack };
}

function conversationIdOf(payload: unknown): string | null {
  if (typeof payload !== "object" || payload === null) return null;
  const id = (payload as Record<string, unknown>).conversation_id;
  return typeof id === "string" && UUID_RE.test(id) ? id.toLowerCase() : null;
}

const joinedCount = (socket: ChatSocket): number =>
  [...socket.rooms].filter((r) => r.startsWith(CONVERSATION_PREFIX)).length;

export function registerHandlers(
  socket: ChatSocket,
  { ctx, typing, expiry, count, liveAccess, presence }: Deps,
): void {
  // Joins still being checked: they count against MAX_CONVERSATIONS_PER_SOCKET from the start, so a
  // burst of concurrent joins cannot pass the cap while each awaits the database.
  const pendingJoins = new Set<string>();
  const refuse = (
    event: string,
    ack: AnyAck | undefined,
    code: ErrorCode,
    message: string,
    field?: string,
  ) => {
    const error = errorEvent(code, message, field ? { event, field } : { event });
    socket.emit("error", error);
    count("error");
    ack?.({ ok: false, error });
  };
  const guard =
    (event: string, fn: (...args: unknown[]) => Promise<void> | void) =>
    (...args: unknown[]) => {
      Promise.resolve()
        .then(() => fn(...args))
        .catch((err) => {
          log.error("handler failed", { event, socket: socket.id, error: err });
          refuse(event, split(args).ack, ERROR_CODES.internalError, REALTIME_MESSAGES.internal);
        });
    };
  const on = (event: string, fn: (...args: unknown[]) => Promise<void> | void) =>
    (socket.on as (ev: string, l: (...a: unknown[]) => void) => void)(event, guard(event, fn));

  on("join_conversation", async (...args) => {
    const { payload, ack } = split(args);
    const id = conversationIdOf(payload);
    const ev = "join_conversation";
    if (!id)
      return refuse(
        ev,
        ack,
        ERROR_CODES.invalidPayload,
        REALTIME_MESSAGES.badConversationId,
        "conversation_id",
      );
    const room = conversationRoom(id);
    if (!socket.rooms.has(room) && !pendingJoins.has(room)) {
      // A join counts once: an adapter may list the room in socket.rooms while `join` still awaits
      // (the Redis adapter subscribes to the room's channel), when it is also still pending.
      let pendingOnly = 0;
      for (const pending of pendingJoins) if (!socket.rooms.has(pending)) pendingOnly++;
      if (joinedCount(socket) + pendingOnly >= ctx.config.maxConversationsPerSocket)
        return refuse(ev, ack, ERROR_CODES.tooManyConversations, REALTIME_MESSAGES.tooMany);
      pendingJoins.add(room);
    }
    let conversation: Awaited<ReturnType<typeof findConversation>>;
    try {
      conversation = await findConversation(ctx.database.db, socket.data.organization_id, id);
      const decision = decideAccess(socket.data, conversation, "read");
      if (decision.verdict === "not_found" || !conversation)
        return refuse(ev, ack, ERROR_CODES.conversationNotFound, REALTIME_MESSAGES.notFound);
      if (decision.verdict === "forbidden")
        return refuse(ev, ack, ERROR_CODES.forbidden, decision.reason ?? REALTIME_MESSAGES.assignedElsewhere);
      if (!socket.connected) return;
      await socket.join(room);
      // Counted once from here on: by socket.rooms, no longer as a pending join.
      pendingJoins.delete(room);
      // An assignment committed while this join was checked revoked the room's members before this
      // socket was one of them: read again now that it is in, so it cannot keep what it just lost.
      const after = await findConversation(ctx.database.db, socket.data.organization_id, id);
      const still = decideAccess(socket.data, after, "read");
      if (still.verdict !== "allowed") {
        await socket.leave(room);
        return still.verdict === "not_found"
          ? refuse(ev, ack, ERROR_CODES.conversationNotFound, REALTIME_MESSAGES.notFound)
          : refuse(ev, ack, ERROR_CODES.forbidden, still.reason ?? REALTIME_MESSAGES.assignedElsewhere);
      }
      conversation = after ?? conversation;
    } finally {
      pendingJoins.delete(room);
    }
    const joined = { conversation_id: id, message: REALTIME_MESSAGES.joined, last_seq: conversation.lastSeq };
    socket.emit("joined_conversation", joined);
    count("joined_conversation");
    ack?.({ ok: true, ...joined });
    void presence.announceViewers(room, id);
  });

  on("leave_conversation", async (...args) => {
    const { payload, ack } = split(args);
    const id = conversationIdOf(payload);
    if (!id)
      return refuse(
        "leave_conversation",
        ack,
        ERROR_CODES.invalidPayload,
        REALTIME_MESSAGES.badConversationId,
        "conversation_id",
      );
    typing.stop(socket, id);
    const wasIn = socket.rooms.has(conversationRoom(id));
    await socket.leave(conversationRoom(id));
    const left = { conversation_id: id, message: REALTIME_MESSAGES.left };
    socket.emit("left_conversation", left);
    count("left_conversation");
    ack?.({ ok: true, ...left });
    if (wasIn) void presence.announceViewers(conversationRoom(id), id);
  });

  const onTyping =
    (event: "typing_start" | "typing_stop") =>
    (...args: unknown[]) => {
      const { payload, ack } = split(args);
      const id = conversationIdOf(payload);
      if (!id)
        return refuse(
          event,
          ack,
          ERROR_CODES.invalidPayload,
          REALTIME_MESSAGES.badConversationId,
          "conversation_id",
        );
      if (!socket.rooms.has(conversationRoom(id)))
        return refuse(event, ack, ERROR_CODES.notJoined, REALTIME_MESSAGES.notJoined);
      // Joined means the rule lets it read (rooms follow every change); typing also needs write.
      if (!mayWriteAtAll(socket.data.role))
        return refuse(event, ack, ERROR_CODES.forbidden, REALTIME_MESSAGES.viewerReadOnly);
      if (event === "typing_start") typing.start(socket, id);
      else typing.stop(socket, id);
      ack?.({ ok: true });
    };
  on("typing_start", onTyping("typing_start"));
  on("typing_stop", onTyping("typing_stop"));

  on("ping", (...args) => {
    const { ack } = split(args);
    const pong = { timestamp: new Date().toISOString() };
    socket.emit("pong", pong);
    count("pong");
    ack?.({ ok: true, ...pong });
  });

  on("presence:set", async (...args) => {
    const { payload, ack } = split(args);
    const status =
      typeof payload === "object" && payload !== null ? (payload as { status?: unknown }).status : undefined;
    if (status !== "online" && status !== "away")
      return refuse("presence:set", ack, ERROR_CODES.invalidPayload, REALTIME_MESSAGES.badPresence, "status");
    const event = await presence.set(socket, status);
    ack?.({ ok: true, ...event });
  });

  on("auth:refresh", async (...args) => {
    const { payload, ack } = split(args);
    const ev = "auth:refresh";
    const token =
      typeof payload === "object" && payload !== null ? (payload as { token?: unknown }).token : undefined;
    if (typeof token !== "string" || !token)
      return refuse(ev, ack, ERROR_CODES.invalidPayload, REALTIME_MESSAGES.badToken, "token");
    try {
      // The same rule as REST and the handshake: a disabled account or a revoked session cannot extend.
      const { claims } = await authenticateAccessToken(ctx.database.db, ctx.tokens, token);
      if (claims.sub !== socket.data.user_id)
        return refuse(ev, ack, ERROR_CODES.forbidden, REALTIME_MESSAGES.otherUser);
      socket.data.token_exp = claims.exp;
      expiry.arm(socket);
      // The stored user, not the token, decides: current role, organization and active flag.
      await liveAccess.reconcileUser(socket.data.user_id);
      if (!socket.connected) return;
      ack?.({ ok: true, expires_at: claims.exp });
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      ctx.metrics.authFailures.inc({ code: err.code, via: "auth:refresh" });
      refuse(ev, ack, err.code, err.message);
      // A deactivated account keeps no live socket: the reconcile disconnects it with account_disabled.
      if (err.code === ERROR_CODES.accountDisabled) await liveAccess.reconcileUser(socket.data.user_id);
    }
  });
}
