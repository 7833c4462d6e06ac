/**
 * The Engine.IO v4 server: routes HTTP requests and websockets under `path` to sessions, runs
 * handshakes and admits upgrades. Publishing is delegated to `Fanout`.
 */
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { createLogger } from "../logger.ts";
import type {
  EngineCloseReason,
  EngineHandshakeRequest,
  EnginePublisher,
  EngineSocket,
  EngineTransportName,
  PublishOptions,
  RawData,
} from "./contract.ts";
import { corsHeaders, isPreflight } from "./cors.ts";
import { Emitter } from "./emitter.ts";
import {
  CloseReason,
  ENGINE_ERROR_MESSAGES,
  EngineErrorCode,
  ErrorContextName,
  WsCloseCode,
} from "./errors.ts";
import { Fanout } from "./fanout.ts";
import { HandshakeRequest } from "./handshake-request.ts";
import { type ExtraHeaders, errorResponse, statusResponse } from "./http.ts";
import { generateSessionId } from "./ids.ts";
import {
  type EngineOptions,
  type FallbackHandler,
  type ResolvedEngineOptions,
  resolveOptions,
} from "./options.ts";
import { EngineSession, type EngineWsData, type SessionHost } from "./session.ts";
import { type PollingOptions, PollingTransport } from "./transports/polling.ts";
import type { TransportOwner } from "./transports/transport.ts";
import { WebSocketTransport } from "./transports/websocket.ts";

const log = createLogger("engine");

/** The only protocol revision served (Engine.IO v3 clients are refused with code 5, like engine.io without allowEIO3). */
const PROTOCOL_VERSION = "4";
/** engine.io answers an unexpected method on an existing session with a bare 500. */
const HTTP_METHOD_NOT_HANDLED = 500;
const HTTP_NO_CONTENT = 204;
/** Bun's websocket idle timeout bounds, in seconds. */
const WS_IDLE_TIMEOUT_MIN_S = 120;
const WS_IDLE_TIMEOUT_MAX_S = 960;
/** Native drops start at this multiple of `maxBufferedBytes`; the engine closes slow clients before. */
const NATIVE_BACKPRESSURE_FACTOR = 2;
/** How long close() lets in-flight answers finish before cutting connections of a server it started. */
const GRACEFUL_STOP_MS = 1000;
/** Valid characters of a header value (RFC 7230 field-vchar, SP and HTAB). */
const INVALID_HEADER_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

export interface ConnectionErrorEvent {
  req: Request;
  code: EngineErrorCode;
  message: string;
  context: Record<string, unknown>;
}

export interface EngineEvents {
  connection: (socket: EngineSocket) => void;
  connection_error: (err: ConnectionErrorEvent) => void;
}

/** What `handler()` returns: spread it into `Bun.serve`. */
export interface EngineHandler {
  fetch: (req: Request, server: Server<EngineWsData>) => Response | Promise<Response | undefined> | undefined;
  websocket: WebSocketHandler<EngineWsData>;
}

export class Engine extends Emitter<EngineEvents> implements EnginePublisher, SessionHost {
  readonly opts: ResolvedEngineOptions;
  /** Open sessions by id. */
  readonly clients = new Map<string, EngineSession>();
  /** Bun websocket handler: the engine owns it because sessions live in `ws.data`. */
  readonly websocket: WebSocketHandler<EngineWsData>;
  /**
   * The Bun servers that carry this engine's websockets, in the order they first did: native
   * publishes go to each. Usually one; a second one is a listener of its own that also hands
   * requests to the engine (a cluster's internal port). Adopted at a websocket upgrade, never at a
   * plain request, so a server that only relays polling requests costs nothing per publish.
   */
  private readonly servers: Server<EngineWsData>[] = [];
  private ownServer: Server<EngineWsData> | null = null;
  private readonly fanout: Fanout;
  /** What every polling transport needs from the options, built once and shared. */
  private readonly pollingOptions: PollingOptions;

  constructor(opts: EngineOptions = {}) {
    super();
    this.opts = resolveOptions(opts);
    this.websocket = this.createWebSocketHandler();
    this.pollingOptions = this.createPollingOptions();
    this.fanout = new Fanout(
      this.opts,
      () => this.servers,
      () => this.clients.values(),
    );
  }

  get clientsCount(): number {
    return this.clients.size;
  }

  /** `{ fetch, websocket }` for `Bun.serve`; requests outside `path` go to `fallback` (or a 404). */
  handler(fallback?: FallbackHandler): EngineHandler {
    return {
      fetch: (req, server) => {
        if (this.matches(req)) return this.handleRequest(req, server);
        if (fallback) return fallback(req, server as Server<unknown>);
        return Response.json({ error: "Not Found" }, { status: 404 });
      },
      websocket: this.websocket,
    };
  }

  /**
   * Starts a Bun server of its own (stopped by `close()`); `handler` wraps the engine's (the
   * Socket.IO layer serves the client bundles in front of it).
   */
  listen(port: number, hostname?: string, handler: EngineHandler = this.handler()): Server<EngineWsData> {
    const server = Bun.serve<EngineWsData>({
      port,
      ...(hostname === undefined ? {} : { hostname }),
      ...handler,
    });
    this.ownServer = server;
    this.adoptServer(server);
    return server;
  }

  /** True when `req` is for the engine (its path starts with `path`). */
  matches(req: Request): boolean {
    const url = req.url;
    const start = url.indexOf("/", url.indexOf("//") + 2);
    if (start === -1) return false;
    const path = this.opts.path;
    if (url.startsWith(path, start)) return true;
    // "/engine.io?EIO=4" (no trailing slash) is the same endpoint.
    const bare = path.slice(0, -1);
    return (
      url.startsWith(bare, start) && (url.length === start + bare.length || url[start + bare.length] === "?")
    );
  }

  /** Closes every session ("forced server close" unless told otherwise) and stops a server `listen` started. */
  async close(reason: EngineCloseReason = CloseReason.FORCED_SERVER_CLOSE): Promise<void> {
    for (const session of [...this.clients.values()]) session.terminate(reason);
    this.fanout.stop();
    const own = this.ownServer;
    this.ownServer = null;
    if (own) {
      const at = this.servers.indexOf(own);
      if (at !== -1) this.servers.splice(at, 1);
      // Let answers already resolved (close packets for waiting polls) go out, then cut what is left.
      await Promise.race([own.stop(false), Bun.sleep(GRACEFUL_STOP_MS)]);
      await own.stop(true);
    }
  }

  // ── publish ─────────────────────────────────────────────────────────────────────────────────

  publish(topic: string, data: RawData | readonly RawData[], options?: PublishOptions): void {
    this.fanout.publish(topic, data, options);
  }

  subscriberCount(topic: string): number {
    return this.fanout.subscriberCount(topic);
  }

  private adoptServer(server: Server<EngineWsData>): void {
    if (!this.servers.includes(server)) this.servers.push(server);
  }

  // ── SessionHost ─────────────────────────────────────────────────────────────────────────────

  onSessionClosed(session: EngineSession): void {
    if (this.clients.get(session.id) === session) this.clients.delete(session.id);
    for (const topic of session.topicList()) this.fanout.unsubscribePolling(topic, session);
  }

  pollingSubscribe(topic: string, session: EngineSession): void {
    this.fanout.subscribePolling(topic, session);
  }

  pollingUnsubscribe(topic: string, session: EngineSession): void {
    this.fanout.unsubscribePolling(topic, session);
  }

  onWebSocketSession(): void {
    this.fanout.watchWebSockets();
  }

  // ── HTTP ────────────────────────────────────────────────────────────────────────────────────

  /**
   * Answers one request under `path`. Resolves to `undefined` when the request became a websocket
   * (Bun then expects no response).
   */
  async handleRequest(req: Request, server: Server<EngineWsData>): Promise<Response | undefined> {
    try {
      return await this.route(req, server);
    } catch (err) {
      log.error("request failed", { err, url: req.url });
      return this.fail(req, EngineErrorCode.BAD_REQUEST, { name: "INTERNAL_ERROR" }, null);
    }
  }

  private async route(req: Request, server: Server<EngineWsData>): Promise<Response | undefined> {
    let extra: ExtraHeaders = null;
    if (this.opts.cors) {
      extra = await corsHeaders(this.opts.cors, req);
      if (isPreflight(req)) {
        return new Response(null, { status: HTTP_NO_CONTENT, headers: { ...extra, "Content-Length": "0" } });
      }
    }
    const url = new URL(req.url);
    const query = url.searchParams;
    const upgrade = req.headers.get("upgrade")?.toLowerCase() === "websocket";
    const transport = query.get("transport");
    if (transport === null || !this.opts.transports.includes(transport as EngineTransportName)) {
      return this.fail(req, EngineErrorCode.UNKNOWN_TRANSPORT, { transport }, extra);
    }
    const origin = req.headers.get("origin");
    if (origin !== null && INVALID_HEADER_CHAR.test(origin)) {
      return this.fail(
        req,
        EngineErrorCode.BAD_REQUEST,
        { name: ErrorContextName.INVALID_ORIGIN, origin },
        extra,
      );
    }
    const sid = query.get("sid");
    if (sid)
      return this.routeToSession(req, server, query, sid, transport as EngineTransportName, upgrade, extra);
    return this.handshake(req, server, url, transport as EngineTransportName, upgrade, extra);
  }

  private async routeToSession(
    req: Request,
    server: Server<EngineWsData>,
    query: URLSearchParams,
    sid: string,
    transport: EngineTransportName,
    upgrade: boolean,
    extra: ExtraHeaders,
  ): Promise<Response | undefined> {
    const session = this.clients.get(sid);
    if (!session) {
      if (upgrade && transport === "websocket" && this.opts.relayForeignUpgrade) {
        const relay = await this.opts.relayForeignUpgrade(req, sid);
        // Not adopted for publishes: a relayed socket subscribes to nothing here.
        if (relay && server.upgrade(req, { data: { session: null, handshake: null, server, relay } }))
          return undefined;
      }
      const forwarded = this.opts.resolveForeignSession
        ? await this.opts.resolveForeignSession(req, sid)
        : null;
      if (forwarded) return forwarded;
      return this.fail(req, EngineErrorCode.UNKNOWN_SID, { sid }, extra);
    }
    const previousTransport = session.transportName;
    if (!upgrade && previousTransport !== transport) {
      return this.fail(
        req,
        EngineErrorCode.BAD_REQUEST,
        { name: ErrorContextName.TRANSPORT_MISMATCH, transport, previousTransport },
        extra,
      );
    }
    const protocol = query.get("EIO");
    if (protocol !== PROTOCOL_VERSION) {
      return this.fail(
        req,
        EngineErrorCode.BAD_REQUEST,
        { name: ErrorContextName.PROTOCOL_MISMATCH, protocol, previousProtocol: 4 },
        extra,
      );
    }
    if (upgrade) return this.upgradeSession(req, server, session, transport, extra);
    const polling = session.pollingTransport;
    if (!polling) return statusResponse(HTTP_METHOD_NOT_HANDLED, extra);
    if (req.method === "GET") return polling.onPoll(req, server as Server<unknown>, extra);
    if (req.method === "POST") return polling.onData(req, extra);
    return statusResponse(HTTP_METHOD_NOT_HANDLED, extra);
  }

  private upgradeSession(
    req: Request,
    server: Server<EngineWsData>,
    session: EngineSession,
    transport: EngineTransportName,
    extra: ExtraHeaders,
  ): Response | undefined {
    if (transport !== "websocket" || !this.opts.allowUpgrades || !session.canUpgrade()) {
      return this.fail(req, EngineErrorCode.BAD_REQUEST, { name: ErrorContextName.UPGRADE_REFUSED }, extra);
    }
    this.adoptServer(server);
    if (server.upgrade(req, { data: { session, handshake: null, server } })) return undefined;
    return this.fail(req, EngineErrorCode.BAD_REQUEST, { name: ErrorContextName.UPGRADE_REFUSED }, extra);
  }

  private async handshake(
    req: Request,
    server: Server<EngineWsData>,
    url: URL,
    transport: EngineTransportName,
    upgrade: boolean,
    extra: ExtraHeaders,
  ): Promise<Response | undefined> {
    if (req.method !== "GET") {
      return this.fail(req, EngineErrorCode.BAD_HANDSHAKE_METHOD, { method: req.method }, extra);
    }
    if (transport === "websocket" && !upgrade) {
      return this.fail(
        req,
        EngineErrorCode.BAD_REQUEST,
        { name: ErrorContextName.TRANSPORT_HANDSHAKE_ERROR },
        extra,
      );
    }
    const refusal = await this.checkAllowRequest(req);
    if (refusal !== null) {
      return this.fail(req, EngineErrorCode.FORBIDDEN, { message: refusal }, extra, refusal);
    }
    const protocol = url.searchParams.get("EIO");
    if (protocol !== PROTOCOL_VERSION) {
      return this.fail(
        req,
        EngineErrorCode.UNSUPPORTED_PROTOCOL_VERSION,
        { protocol: Number(protocol) || 3 },
        extra,
      );
    }
    let id: string;
    try {
      id = this.opts.generateId ? await this.opts.generateId(req) : generateSessionId();
    } catch (error) {
      return this.fail(
        req,
        EngineErrorCode.BAD_REQUEST,
        { name: ErrorContextName.ID_GENERATION_ERROR, error },
        extra,
      );
    }
    // A custom generateId that repeats itself must not hijack a live session.
    if (typeof id !== "string" || id === "" || this.clients.has(id)) {
      return this.fail(
        req,
        EngineErrorCode.BAD_REQUEST,
        { name: ErrorContextName.ID_GENERATION_ERROR, id },
        extra,
      );
    }
    const request: EngineHandshakeRequest = new HandshakeRequest(
      req.url,
      req.headers,
      server.requestIP(req)?.address ?? "",
    );
    if (transport === "websocket") {
      this.adoptServer(server);
      if (server.upgrade(req, { data: { session: null, handshake: { id, request }, server } }))
        return undefined;
      return this.fail(
        req,
        EngineErrorCode.BAD_REQUEST,
        { name: ErrorContextName.TRANSPORT_HANDSHAKE_ERROR },
        extra,
      );
    }
    const session = this.createSession(
      id,
      request,
      (owner) => new PollingTransport(owner, this.pollingOptions),
    );
    const polling = session.pollingTransport!;
    const response = polling.onPoll(req, server as Server<unknown>, extra);
    this.emit("connection", session);
    return response;
  }

  /** null when allowed, else the refusal message. */
  private async checkAllowRequest(req: Request): Promise<string | null> {
    const allow = this.opts.allowRequest;
    if (!allow) return null;
    const forbidden = ENGINE_ERROR_MESSAGES[EngineErrorCode.FORBIDDEN];
    try {
      const verdict = await allow(req);
      if (verdict === true) return null;
      return typeof verdict === "string" ? verdict : forbidden;
    } catch (err) {
      log.warn("allowRequest threw: handshake refused", { err });
      return forbidden;
    }
  }

  private createPollingOptions(): PollingOptions {
    const compression = this.opts.httpCompression;
    return {
      maxHttpBufferSize: this.opts.maxHttpBufferSize,
      bodyReadTimeout: this.opts.bodyReadTimeout,
      compressionThreshold: compression === false ? (false as const) : compression.threshold,
    };
  }

  private createSession(
    id: string,
    request: EngineHandshakeRequest,
    makeTransport: (owner: TransportOwner) => PollingTransport | WebSocketTransport<EngineWsData>,
  ): EngineSession {
    const session = new EngineSession(id, request, makeTransport, this);
    this.clients.set(id, session);
    session.open(this.upgradesFor(session.transportName));
    return session;
  }

  private upgradesFor(transport: EngineTransportName): EngineTransportName[] {
    if (!this.opts.allowUpgrades || transport !== "polling") return [];
    return this.opts.transports.includes("websocket") ? ["websocket"] : [];
  }

  private fail(
    req: Request,
    code: EngineErrorCode,
    context: Record<string, unknown>,
    extra: ExtraHeaders,
    message?: string,
  ): Response {
    if (log.debugEnabled) log.debug("request refused", { url: req.url, code, context });
    this.emit("connection_error", { req, code, message: ENGINE_ERROR_MESSAGES[code], context });
    // Refusals are decided before any body is read; a body left unread (a POST to an unknown sid,
    // say) would otherwise keep the connection for as long as the client trickles it in.
    const unreadBody = req.body !== null && !req.bodyUsed;
    return errorResponse(code, extra, message, unreadBody);
  }

  // ── websocket ───────────────────────────────────────────────────────────────────────────────

  private createWebSocketHandler(): WebSocketHandler<EngineWsData> {
    const { maxHttpBufferSize, maxBufferedBytes, perMessageDeflate, pingInterval, pingTimeout } = this.opts;
    const heartbeatSeconds = Math.ceil((pingInterval + pingTimeout) / 1000) + 10;
    return {
      maxPayloadLength: maxHttpBufferSize,
      backpressureLimit: maxBufferedBytes * NATIVE_BACKPRESSURE_FACTOR,
      closeOnBackpressureLimit: false,
      perMessageDeflate,
      idleTimeout: Math.min(WS_IDLE_TIMEOUT_MAX_S, Math.max(WS_IDLE_TIMEOUT_MIN_S, heartbeatSeconds)),
      publishToSelf: false,
      open: (ws) => {
        if (ws.data.relay) ws.data.relay.open(ws);
        else this.onWebSocketOpen(ws);
      },
      // A session's socket is the hot path: checked first; only a relayed socket has no session.
      message: (ws, message) => {
        const { session } = ws.data;
        if (session !== null) session.onWebSocketMessage(ws, message);
        else ws.data.relay?.message(ws, message);
      },
      close: (ws, code, reason) => {
        const { session } = ws.data;
        if (session !== null) session.onWebSocketClose(ws, code, reason);
        else ws.data.relay?.close(ws, code, reason);
      },
      drain: (ws) => {
        const { session } = ws.data;
        if (session !== null) session.onWebSocketDrain(ws);
        else ws.data.relay?.drain(ws);
      },
    };
  }

  private onWebSocketOpen(ws: ServerWebSocket<EngineWsData>): void {
    const { session, handshake } = ws.data;
    if (session !== null) {
      if (!session.attachProbe(ws)) ws.close(WsCloseCode.UPGRADE_FAILED);
      return;
    }
    if (handshake === null) {
      ws.close(WsCloseCode.UPGRADE_FAILED);
      return;
    }
    ws.data.handshake = null;
    const created = this.createSession(handshake.id, handshake.request, () => {
      return new WebSocketTransport(ws, this.opts.maxBufferedBytes);
    });
    ws.data.session = created;
    this.emit("connection", created);
  }
}
