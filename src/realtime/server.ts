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
import {
  ERROR_CODES,
  organizationInboxRoom,
  organizationQueueRoom,
  type ServerToClientEvents,
  userRoom,
} from "../shared/events.ts";
import { ConnectionLimiter } from "./connection-limit.ts";
import { REALTIME_MESSAGES, registerHandlers } from "./handlers.ts";
import { handshakeAuth } from "./handshake-auth.ts";
import { RealtimeNotifier } from "./notifier.ts";
import { SessionExpiry } from "./session-expiry.ts";
import { type ChatServer, type ChatSocket, errorEvent, eventLabel } from "./types.ts";
import { TypingTracker } from "./typing.ts";

const log = createLogger("realtime");

export const RATE_LIMITED_MESSAGE = "too many events: this one was dropped; slow down";
export const ORIGIN_REFUSED = "origin not allowed";
/** Largest client packet: chat events are small; 64 KiB leaves room for a long token refresh. */
const MAX_CLIENT_PACKET = 64 * 1024;

export interface Realtime {
  io: ChatServer;
  notifier: RealtimeNotifier;
  /** Stops timers and closes every connection. */
  close(): Promise<void>;
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
    cors: allowed.size > 0 ? { origin: [...allowed], credentials: true } : false,
    // Browsers do not apply CORS to websockets: check the Origin of every handshake ourselves.
    allowRequest: (req) =>
      originAllowed(req.headers.get("origin"), req.headers.get("host"), allowed) ? true : ORIGIN_REFUSED,
    maxHttpBufferSize: MAX_CLIENT_PACKET,
  });
  const metrics = ctx.metrics;
  const count = (event: keyof ServerToClientEvents) => metrics.eventsEmitted.inc({ event });
  const limiter = new ConnectionLimiter(
    ctx.config.maxConnectionsPerUser,
    limits && {
      store: limits.connections,
      available: limits.available,
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
    ? new SharedTokenBuckets(limits.rate, limits.available, rate)
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

  io.on("connection", (socket: ChatSocket) => {
    const { user_id, organization_id, role } = socket.data;
    log.debug("socket connected", { socket: socket.id, user_id });
    // conversation:updated reaches a socket through these (see inboxAudience): its user's room, and
    // the organization's inbox (sees every conversation) or queue (agents: unassigned ones).
    socket.join([
      userRoom(user_id),
      role === "agent" ? organizationQueueRoom(organization_id) : organizationInboxRoom(organization_id),
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
    registerHandlers(socket, { ctx, typing, expiry, count });
    socket.on("disconnecting", () => typing.stopAll(socket));
    socket.on("disconnect", (reason) => {
      limiter.remove(socket);
      expiry.clear(socket);
      log.debug("socket disconnected", { socket: socket.id, user_id, reason });
    });
    socket.emit("connected", { message: REALTIME_MESSAGES.connected, user_id });
    count("connected");
    expiry.arm(socket);
    limiter.add(socket);
  });

  return {
    io,
    notifier: new RealtimeNotifier(io, metrics),
    async close() {
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
