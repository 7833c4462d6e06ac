/**
 * The chat's Socket.IO server: handshake authentication, per-user connection cap, token expiry,
 * per-user rate limit on client events, CORS allowlist, and the event handlers.
 */
import { Server, type ServerOptions } from "../../protocol/index.ts";
import { createLogger } from "../../protocol/logger.ts";
import type { AppContext } from "../context.ts";
import type { SharedLimitStores } from "../limits/shared-store.ts";
import { SharedTokenBuckets } from "../limits/shared-token-bucket.ts";
import { TokenBuckets } from "../limits/token-bucket.ts";
import { organizationRoomFor } from "../services/access.ts";
import {
  conversationRoom,
  ERROR_CODES,
  type ServerToClientEvents,
  sessionRoom,
  userRoom,
} from "../shared/events.ts";
import { ConnectionLimiter } from "./connection-limit.ts";
import { REALTIME_MESSAGES, registerHandlers } from "./handlers.ts";
import { handshakeAuth } from "./handshake-auth.ts";
import { RealtimeLiveAccess } from "./live-access.ts";
import { RealtimeNotifier } from "./notifier.ts";
import { PRESENCE_SWEEP_MS, Presence } from "./presence.ts";
import { SessionExpiry } from "./session-expiry.ts";
import { type ChatServer, type ChatSocket, errorEvent, eventLabel } from "./types.ts";
import { TypingTracker } from "./typing.ts";
import { createLiveSessions, type LiveSessions } from "./user-sessions.ts";

const log = createLogger("realtime");

export const RATE_LIMITED_MESSAGE = "too many events: this one was dropped; slow down";
export const ORIGIN_REFUSED = "origin not allowed";
/** Largest client packet: chat events are small; 64 KiB leaves room for a long token refresh. */
const MAX_CLIENT_PACKET = 64 * 1024;

export interface Realtime {
  io: ChatServer;
  notifier: RealtimeNotifier;
  /** Live sockets of `userId` on this node, as the per-user connection cap counts them. */
  connectionsOf(userId: string): number;
  /** Closes the sockets of a user or a session, cluster-wide (deactivation, logout, role change). */
  sessions: LiveSessions;
  /** Keeps live sockets in line with the access rule after a change (cluster-wide). */
  liveAccess: RealtimeLiveAccess;
  /** Who is online, and who watches a conversation. */
  presence: Presence;
  /** Stops timers and closes every connection. */
  close(): Promise<void>;
}

/**
 * The host the browser addressed: X-Forwarded-Host when a proxy or another cluster node passed the
 * request on (the hop's own Host is then an internal address), else Host. A page cannot forge it:
 * browsers send no custom header on a websocket, and only after a CORS preflight elsewhere.
 */
function addressedHost(req: Request): string | null {
  const forwarded = req.headers.get("x-forwarded-host");
  return forwarded !== null ? (forwarded.split(",")[0]?.trim() ?? null) : req.headers.get("host");
}

/** True when `origin` is listed, or is the server's own origin (same-origin pages). */
export function originAllowed(
  origin: string | null,
  host: string | null,
  allowed: ReadonlySet<string>,
): boolean {
  if (origin === null) return true; // not a browser page (server-to-server, CLI, native app)
  if (allowed.has(origin)) return true;
  try {
    return host !== null && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * `extra`: options of the cluster layer (cluster adapter, node-naming session ids, forwarding).
 * `limits`: the cluster store's limit operations, making the connection cap and the event rate
 * cluster-wide; without them both are per process.
 */
export function createRealtime(
  ctx: AppContext,
  extra: Partial<ServerOptions> = {},
  limits?: SharedLimitStores,
): Realtime {
  const allowed = new Set(ctx.config.corsOrigins);
  const io: ChatServer = new Server({
    ...extra,
    // One origin rule for everything: CORS grants, and the engine's check of every request of a
    // session (polling with a sid, upgrades), which follows the CORS rule.
    cors: {
      origin: (origin, req) => originAllowed(origin, addressedHost(req), allowed),
      credentials: true,
    },
    // Browsers do not apply CORS to websockets: check the Origin of every handshake ourselves.
    allowRequest: (req) =>
      originAllowed(req.headers.get("origin"), addressedHost(req), allowed) ? true : ORIGIN_REFUSED,
    maxHttpBufferSize: MAX_CLIENT_PACKET,
  });
  const metrics = ctx.metrics;
  const count = (event: keyof ServerToClientEvents) => metrics.eventsEmitted.inc({ event });
  const limiter = new ConnectionLimiter(
    ctx.config.maxConnectionsPerUser,
    limits && {
      store: limits.connections,
      available: limits.available,
      deadlineMs: limits.deadlineMs,
      // The oldest connection may be on another node: told and closed through the adapter.
      evictRemote: (socketId, error) => {
        io.to(socketId).emit("error", error);
        io.in(socketId).disconnectSockets(true);
      },
    },
  );
  const expiry = new SessionExpiry();
  const rate = { ratePerSecond: ctx.config.rateLimitPerSecond, burst: ctx.config.rateLimitBurst };
  const buckets = limits
    ? new SharedTokenBuckets(limits.rate, limits.available, { ...rate, deadlineMs: limits.deadlineMs })
    : new TokenBuckets(rate);
  if (limits) ctx.metrics.registry.register(limitFallbackMetric(limiter, buckets as SharedTokenBuckets));
  const typing = new TypingTracker(ctx.config.typingTimeoutMs, (socket, room, payload) => {
    // The sender may be gone (timer after disconnect): then broadcast from the server.
    if (socket.connected) socket.to(room).emit("user_typing", payload);
    else io.to(room).emit("user_typing", payload);
    count("user_typing");
  });

  metrics.setConnectionSource(() => {
    const byTransport: Record<string, number> = {};
    for (const s of io.sockets.sockets.values()) {
      const t = s.conn.transportName;
      byTransport[t] = (byTransport[t] ?? 0) + 1;
    }
    return { total: io.sockets.sockets.size, byTransport };
  });

  io.use(handshakeAuth(ctx));
  // Only a cluster can lose a node without its sockets saying goodbye: only then sweep.
  const presence = new Presence(io, ctx.database.db, {
    sweepMs: ctx.config.cluster ? PRESENCE_SWEEP_MS : null,
  });
  const logFailure = (what: string) => (error: unknown) => log.warn(what, { error });
  const liveAccess = new RealtimeLiveAccess(io, ctx.database.db, (id) => {
    void presence.announceViewers(conversationRoom(id), id);
  });

  io.on("connection", (socket: ChatSocket) => {
    const { user_id, organization_id, role } = socket.data;
    log.debug("socket connected", { socket: socket.id, user_id });
    // conversation:updated reaches a socket through these (see inboxAudience): its user's room, and
    // the organization's inbox (sees every conversation) or queue (agents: unassigned ones).
    socket.join([
      userRoom(user_id),
      organizationRoomFor(role, organization_id),
      // Logout closes the sockets of one session only (src/realtime/user-sessions.ts).
      ...(socket.data.session_id ? [sessionRoom(socket.data.session_id)] : []),
    ]);
    socket.use(async (event, next) => {
      const [name, ...args] = event;
      metrics.eventsReceived.inc({ event: eventLabel(name) });
      if (await buckets.take(user_id)) return next();
      metrics.rateLimited.inc({ event: eventLabel(name) });
      const error = errorEvent(ERROR_CODES.rateLimited, RATE_LIMITED_MESSAGE, { event: name });
      socket.emit("error", error);
      count("error");
      const ack = args[args.length - 1];
      if (typeof ack === "function") ack({ ok: false, error });
    });
    registerHandlers(socket, { ctx, typing, expiry, count, liveAccess, presence });
    let watched: string[] = [];
    socket.on("disconnecting", () => {
      typing.stopAll(socket);
      watched = [...socket.rooms].filter((r) => r.startsWith("conversation:"));
    });
    socket.on("disconnect", (reason) => {
      limiter.remove(socket);
      expiry.clear(socket);
      presence.disconnected(socket.data).catch(logFailure("presence update failed"));
      for (const room of watched) void presence.announceViewers(room, room.slice("conversation:".length));
      log.debug("socket disconnected", { socket: socket.id, user_id, reason });
    });
    socket.emit("connected", { message: REALTIME_MESSAGES.connected, user_id });
    count("connected");
    expiry.arm(socket);
    limiter.add(socket);
    presence.connected(socket).catch(logFailure("presence update failed"));
  });

  return {
    io,
    notifier: new RealtimeNotifier(io, metrics),
    connectionsOf: (userId) => limiter.count(userId),
    sessions: createLiveSessions(io),
    liveAccess,
    presence,
    async close() {
      presence.close();
      limiter.close();
      expiry.clearAll();
      typing.clearAll();
      await io.close();
    },
  };
}

/** How often the cluster-wide limits had to fall back to this node's own count (store unreachable). */
function limitFallbackMetric(connections: ConnectionLimiter, rate: SharedTokenBuckets): { render(): string } {
  const name = "switchboard_limits_fallback_total";
  return {
    render: () =>
      `# HELP ${name} Limit checks decided by this node alone because the cluster store could not answer.\n` +
      `# TYPE ${name} counter\n${name}{limit="connections"} ${connections.fallbacks}\n` +
      `${name}{limit="event_rate"} ${rate.guard.counters.fallbacks}\n`,
  };
}
