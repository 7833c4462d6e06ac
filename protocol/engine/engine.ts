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
import { serializeCookie } from "./cookie.ts";
import { corsAllowsOrigin, corsHeaders, isPreflight } from "./cors.ts";
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
import { type ExtraHeaders, errorResponse, headersFrom, statusResponse } from "./http.ts";
import { generateSessionId } from "./ids.ts";
import {
  type AllowRequest,
  type AllowRequestCallback,
  type CorsOptions,
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
const FORBIDDEN_MESSAGE = ENGINE_ERROR_MESSAGES[EngineErrorCode.FORBIDDEN];
/** Valid characters of a header value (RFC 7230 field-vchar, SP and HTAB). */
const INVALID_HEADER_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

export interface ConnectionErrorEvent {
  req: Request;
  code: EngineErrorCode;
  message: string;
  context: Record<string, unknown>;
}

/** Response headers a listener may add to or change (a list is one header line per value). */
export type ResponseHeaders = Record<string, string | readonly string[]>;

/** The engine's events, as engine.io's server emits them. */
export interface EngineEvents {
  /** A session was opened (after its open packet was queued). */
  connection: (socket: EngineSocket) => void;
  /** A request was refused; `code` and `message` are the answer's, `context` says why. */
  connection_error: (err: ConnectionErrorEvent) => void;
  /** A handshake is about to be answered (polling 200 or websocket 101): add headers (cookies). */
  initial_headers: (headers: ResponseHeaders, req: Request) => void;
  /** Any successful answer is about to be written (handshakes included). */
  headers: (headers: ResponseHeaders, req: Request) => void;
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

  /**
   * The id of a new session. engine.io's overridable method: socket.io's documentation gives custom
   * ids as `io.engine.generateId = (req) => ...` (sync or async). Defaults to the `generateId`
   * option, else 20 random base64url characters.
   */
  generateId(req: Request): string | Promise<string> {
    return this.opts.generateId ? this.opts.generateId(req) : generateSessionId();
  }

  get clientsCount(): number {
    return this.clients.size;
  }

  /** `{ fetch, websocket }` for `Bun.serve`; requests outside `path` go to `fallback` (or a 404). */
  handler(fallback?: FallbackHandler): EngineHandler {
    return {
      fetch: (req, server) => {
        if (this.matches(req)) return this.answer(req, server);
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

  watchPackets(session: EngineSession, watching: boolean): void {
    this.fanout.watchPackets(session, watching);
  }

  watchedTopic(topic: string, session: EngineSession, joined: boolean): void {
    this.fanout.watchTopic(topic, session, joined);
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

  publishedThisTurn(topic: string): boolean {
    return this.fanout.publishedThisTurn(topic);
  }

  // ── HTTP ────────────────────────────────────────────────────────────────────────────────────

  /**
   * Answers one request under `path`. Resolves to `undefined` when the request became a websocket
   * (Bun then expects no response).
   */
  async handleRequest(req: Request, server: Server<EngineWsData>): Promise<Response | undefined> {
    return this.answer(req, server);
  }

  /**
   * `handleRequest`, answered synchronously when nothing on the way waits (no CORS, no allowRequest
   * hook, an id generated synchronously: the usual handshake). Connects come in bursts, and each
   * async step was a promise, a generator and a scope object per request.
   */
  private answer(req: Request, server: Server<EngineWsData>): Answer {
    let answered: Answer;
    try {
      answered = this.route(req, server);
    } catch (err) {
      return this.requestFailed(req, err);
    }
    return answered instanceof Promise ? this.answerLater(req, answered) : answered;
  }

  private async answerLater(
    req: Request,
    answered: Promise<Response | undefined>,
  ): Promise<Response | undefined> {
    try {
      return await answered;
    } catch (err) {
      return this.requestFailed(req, err);
    }
  }

  private requestFailed(req: Request, err: unknown): Response {
    log.error("request failed", { err, url: req.url });
    return this.fail(req, EngineErrorCode.BAD_REQUEST, { name: "INTERNAL_ERROR" }, null);
  }

  private route(req: Request, server: Server<EngineWsData>): Answer {
    return this.opts.cors
      ? this.routeWithCors(req, server, this.opts.cors)
      : this.routeWith(req, server, null);
  }

  private async routeWithCors(
    req: Request,
    server: Server<EngineWsData>,
    cors: CorsOptions,
  ): Promise<Response | undefined> {
    const extra = await corsHeaders(cors, req);
    if (isPreflight(req)) {
      const status = cors.optionsSuccessStatus ?? HTTP_NO_CONTENT;
      return new Response(null, { status, headers: { ...extra, "Content-Length": "0" } });
    }
    return this.routeWith(req, server, extra);
  }

  private routeWith(req: Request, server: Server<EngineWsData>, extra: ExtraHeaders): Answer {
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
    // engine.io 6.6.13: every request of a session, upgrades included, must keep the session's revision.
    if (query.get("EIO") !== PROTOCOL_VERSION) {
      return this.fail(
        req,
        EngineErrorCode.BAD_REQUEST,
        { name: ErrorContextName.PROTOCOL_MISMATCH, protocol: 3, previousProtocol: 4 },
        extra,
      );
    }
    if (!this.originAllowedForSession(req, session, extra)) {
      return this.fail(
        req,
        EngineErrorCode.FORBIDDEN,
        { name: ErrorContextName.ORIGIN_NOT_ALLOWED, origin: req.headers.get("origin") },
        extra,
      );
    }
    if (upgrade) return this.upgradeSession(req, server, session, transport, extra);
    const polling = session.pollingTransport;
    if (!polling) return statusResponse(HTTP_METHOD_NOT_HANDLED, extra);
    if (req.method === "GET")
      return polling.onPoll(req, server as Server<unknown>, this.answerHeaders(req, extra, null));
    if (req.method === "POST") return polling.onData(req, this.answerHeaders(req, extra, null));
    return statusResponse(HTTP_METHOD_NOT_HANDLED, extra);
  }

  private upgradeSession(
    req: Request,
    server: Server<EngineWsData>,
    session: EngineSession,
    transport: EngineTransportName,
    extra: ExtraHeaders,
  ): Response | undefined {
    if (transport === "websocket" && session.hasWebSocket()) {
      // engine.io accepts the websocket (101) and closes it at once: the session that upgraded, or
      // is probing, stays as it is. See onWebSocketOpen.
      const headers = this.upgradeHeaders(req, null);
      if (server.upgrade(req, { headers, data: { session: null, handshake: null, server } }))
        return undefined;
    }
    if (transport !== "websocket" || !this.opts.allowUpgrades || !session.canUpgrade()) {
      return this.fail(req, EngineErrorCode.BAD_REQUEST, { name: ErrorContextName.UPGRADE_REFUSED }, extra);
    }
    this.adoptServer(server);
    const headers = this.upgradeHeaders(req, null);
    if (server.upgrade(req, { headers, data: { session, handshake: null, server } })) return undefined;
    return this.fail(req, EngineErrorCode.BAD_REQUEST, { name: ErrorContextName.UPGRADE_REFUSED }, extra);
  }

  private handshake(
    req: Request,
    server: Server<EngineWsData>,
    url: URL,
    transport: EngineTransportName,
    upgrade: boolean,
    extra: ExtraHeaders,
  ): Answer {
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
    if (this.opts.allowRequest) return this.handshakeIfAllowed(req, server, url, transport, extra);
    return this.handshakeAllowed(req, server, url, transport, extra);
  }

  private async handshakeIfAllowed(
    req: Request,
    server: Server<EngineWsData>,
    url: URL,
    transport: EngineTransportName,
    extra: ExtraHeaders,
  ): Promise<Response | undefined> {
    const refusal = await this.checkAllowRequest(req);
    if (refusal !== null) {
      return this.fail(req, EngineErrorCode.FORBIDDEN, { message: refusal }, extra, refusal);
    }
    return this.handshakeAllowed(req, server, url, transport, extra);
  }

  private handshakeAllowed(
    req: Request,
    server: Server<EngineWsData>,
    url: URL,
    transport: EngineTransportName,
    extra: ExtraHeaders,
  ): Answer {
    const protocol = url.searchParams.get("EIO");
    if (protocol !== PROTOCOL_VERSION) {
      return this.fail(
        req,
        EngineErrorCode.UNSUPPORTED_PROTOCOL_VERSION,
        { protocol: Number(protocol) || 3 },
        extra,
      );
    }
    let id: string | Promise<string>;
    try {
      id = this.generateId(req);
    } catch (error) {
      return this.idGenerationFailed(req, error, extra);
    }
    if (isThenable(id)) return this.handshakeWithPendingId(req, server, transport, extra, id);
    return this.handshakeWithId(req, server, transport, extra, id);
  }

  private idGenerationFailed(req: Request, error: unknown, extra: ExtraHeaders): Response {
    return this.fail(
      req,
      EngineErrorCode.BAD_REQUEST,
      { name: ErrorContextName.ID_GENERATION_ERROR, error },
      extra,
    );
  }

  /** A custom `generateId` answered with a promise. */
  private async handshakeWithPendingId(
    req: Request,
    server: Server<EngineWsData>,
    transport: EngineTransportName,
    extra: ExtraHeaders,
    pending: PromiseLike<string>,
  ): Promise<Response | undefined> {
    let id: string;
    try {
      id = await pending;
    } catch (error) {
      return this.idGenerationFailed(req, error, extra);
    }
    return this.handshakeWithId(req, server, transport, extra, id);
  }

  private handshakeWithId(
    req: Request,
    server: Server<EngineWsData>,
    transport: EngineTransportName,
    extra: ExtraHeaders,
    id: string,
  ): Answer {
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
      const headers = this.upgradeHeaders(req, id);
      if (server.upgrade(req, { headers, data: { session: null, handshake: { id, request }, server } }))
        return undefined;
      return this.fail(
        req,
        EngineErrorCode.BAD_REQUEST,
        { name: ErrorContextName.TRANSPORT_HANDSHAKE_ERROR },
        extra,
      );
    }
    return this.pollingHandshake(req, server, extra, id, request);
  }

  /** Apart from `handshakeWithId` because of its closure (a scope object at every call of the function holding it). */
  private pollingHandshake(
    req: Request,
    server: Server<EngineWsData>,
    extra: ExtraHeaders,
    id: string,
    request: EngineHandshakeRequest,
  ): Response | Promise<Response> {
    const session = this.createSession(
      id,
      request,
      (owner) => new PollingTransport(owner, this.pollingOptions),
    );
    const polling = session.pollingTransport!;
    const response = polling.onPoll(req, server as Server<unknown>, this.answerHeaders(req, extra, id));
    this.emit("connection", session);
    return response;
  }

  /**
   * The headers of a successful answer: `extra` (CORS), plus, for a handshake (`handshakeId` set),
   * the `cookie` option's cookie and what `initial_headers` listeners add, then what `headers`
   * listeners add, in engine.io's order. Untouched when none of these applies.
   */
  private answerHeaders(req: Request, extra: ExtraHeaders, handshakeId: string | null): ExtraHeaders {
    const initial = handshakeId !== null;
    const cookie = initial ? this.opts.cookie : false;
    if (!cookie && !this.hasListener("headers") && !(initial && this.hasListener("initial_headers")))
      return extra;
    const headers: Record<string, string | readonly string[]> = { ...extra };
    if (cookie) headers["Set-Cookie"] = [serializeCookie(cookie, handshakeId!)];
    if (initial) this.emit("initial_headers", headers, req);
    this.emit("headers", headers, req);
    return headers;
  }

  /** Headers for a websocket's 101 answer: the handshake cookie and what listeners set. */
  private upgradeHeaders(req: Request, handshakeId: string | null): Headers | undefined {
    const headers = this.answerHeaders(req, null, handshakeId);
    return headers === null ? undefined : headersFrom(headers);
  }

  /** null when allowed, else the refusal message. */
  private async checkAllowRequest(req: Request): Promise<string | null> {
    const allow = this.opts.allowRequest;
    if (!allow) return null;
    try {
      return await askAllowRequest(allow, req);
    } catch (err) {
      log.warn("allowRequest threw: handshake refused", { err });
      return FORBIDDEN_MESSAGE;
    }
  }

  /**
   * A request of an existing session that carries an Origin must pass the CORS origin rule, the rule
   * a browser applied to the handshake (`extra` holds its verdict, computed once per request);
   * without CORS configured it must carry the handshake's own Origin, if that had one (a page's
   * origin never changes within a session). No Origin header: not a browser page, allowed as at the
   * handshake.
   */
  private originAllowedForSession(req: Request, session: EngineSession, extra: ExtraHeaders): boolean {
    const origin = req.headers.get("origin");
    if (origin === null) return true;
    if (extra !== null) return corsAllowsOrigin(extra, origin);
    const opened = session.request.headers.get("origin");
    return opened === null || opened === origin;
  }

  private createPollingOptions(): PollingOptions {
    const compression = this.opts.httpCompression;
    return {
      maxHttpBufferSize: this.opts.maxHttpBufferSize,
      httpRequestBodyTimeout: this.opts.httpRequestBodyTimeout,
      maxBufferedChunks: this.opts.maxBufferedChunks,
      compressionThreshold: compression === false ? (false as const) : compression.threshold,
    };
  }

  private createSession(
    id: string,
    request: EngineHandshakeRequest,
    makeTransport: ((owner: TransportOwner) => PollingTransport) | WebSocketTransport<EngineWsData>,
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
      // A websocket for a session that already has one (see upgradeSession): closed without a code,
      // as engine.io's ws does.
      ws.close();
      return;
    }
    ws.data.handshake = null;
    const created = this.createSession(
      handshake.id,
      handshake.request,
      new WebSocketTransport(ws, this.opts.maxBufferedBytes),
    );
    ws.data.session = created;
    this.emit("connection", created);
  }
}

/**
 * Runs `allowRequest` in whichever form it has (see `AllowRequest`): null when allowed, else the
 * refusal message. Rejects when the hook throws or its Promise rejects.
 */
function askAllowRequest(allow: AllowRequest, req: Request): Promise<string | null> {
  if (allow.length < 2) {
    const unused: AllowRequestCallback = () => {};
    return Promise.resolve(allow(req, unused)).then((verdict) => {
      if (verdict === true) return null;
      return typeof verdict === "string" && verdict !== "" ? verdict : FORBIDDEN_MESSAGE;
    });
  }
  return new Promise<string | null>((resolve, reject) => {
    const callback = (err: string | null | undefined, success: boolean) => {
      if (success) resolve(null);
      else resolve(typeof err === "string" && err !== "" ? err : FORBIDDEN_MESSAGE);
    };
    // A callback-style hook may still be async: its rejection refuses too.
    const returned: unknown = allow(req, callback);
    if (returned instanceof Promise) returned.catch(reject);
  });
}

/** What answering a request gives Bun: a response, nothing (a websocket), or either later. */
type Answer = Response | undefined | Promise<Response | undefined>;

function isThenable(value: unknown): value is PromiseLike<string> {
  return (
    typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"
  );
}
