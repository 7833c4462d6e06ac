/**
 * Engine options: engine.io's names and defaults, each documented, with every default in one place
 * (`ENGINE_DEFAULTS`).
 */
import type { Server } from "bun";
import type { EngineTransportName, ForeignWebSocket, RawData } from "./contract.ts";
import { type CookieOptions, type ResolvedCookieOptions, resolveCookie } from "./cookie.ts";

/** Result of `allowRequest`: `true` accepts; `false` refuses with "Forbidden"; a string refuses with that message. */
export type AllowRequestResult = boolean | string;

/**
 * engine.io's verdict callback: `success` false refuses the handshake (403, code 4) with `err` as the
 * message ("Forbidden" when empty); `success` true accepts it whatever `err` says.
 */
export type AllowRequestCallback = (err: string | null | undefined, success: boolean) => void;

/**
 * Decides whether a handshake may proceed, in either form, told apart by the parameters the
 * function declares:
 * - engine.io's `(req, callback)`: answers through `callback`, whatever it returns;
 * - `(req) => verdict`: an `AllowRequestResult` returned directly or as a Promise.
 * A hook that throws or rejects refuses the handshake (403, code 4 "Forbidden") and is logged.
 * (One signature with a loose return type rather than a union, so both forms keep their parameter
 * types when written inline.)
 */
export type AllowRequest = (req: Request, callback: AllowRequestCallback) => unknown;

/** A CORS origin rule, as the `cors` package takes it. */
export type CorsOrigin =
  | boolean
  | string
  | RegExp
  | ReadonlyArray<string | RegExp>
  | ((origin: string | null, req: Request) => boolean | string | Promise<boolean | string>);

export interface CorsOptions {
  /**
   * Which origins may call the engine: `true` reflects the request's origin, a string is returned
   * as is ("*" is turned into the request's origin when `credentials` is on, as browsers refuse
   * "*" with credentials), a RegExp or a list allows the matching origins, a function decides (a
   * string result is the origin to answer). Default "*".
   */
  origin?: CorsOrigin;
  /** Methods allowed in preflight answers. Default "GET,HEAD,PUT,PATCH,POST,DELETE". */
  methods?: string | readonly string[];
  /** Headers allowed in preflight answers. Default: the request's `Access-Control-Request-Headers`. */
  allowedHeaders?: string | readonly string[];
  /** The `cors` package's other name for `allowedHeaders` (used when `allowedHeaders` is not set). */
  headers?: string | readonly string[];
  /** Status of a preflight answer (some old browsers need 200). Default 204. */
  optionsSuccessStatus?: number;
  /** Headers exposed to the browser. Default none. */
  exposedHeaders?: string | readonly string[];
  /** Send `Access-Control-Allow-Credentials: true`. Default false. */
  credentials?: boolean;
  /** `Access-Control-Max-Age` of preflight answers, in seconds. Default none. */
  maxAge?: number;
}

export interface HttpCompressionOptions {
  /** Smallest polling response (in bytes) that is compressed. Default 1024. */
  threshold?: number;
}

export interface EngineOptions {
  /**
   * Path the engine answers under (a prefix match, with a trailing slash). Default "/engine.io/"
   * like the engine.io package; the Socket.IO layer passes "/socket.io/".
   */
  path?: string;
  /** Milliseconds between two server pings. Default 25000. */
  pingInterval?: number;
  /** Milliseconds to wait for the pong after a ping before closing with "ping timeout". Default 20000. */
  pingTimeout?: number;
  /** Milliseconds a websocket may take to complete an upgrade (send `5`) after it connects. Default 10000. */
  upgradeTimeout?: number;
  /** Largest message (websocket frame or polling POST body) a client may send, in bytes. Default 1e6. */
  maxHttpBufferSize?: number;
  /**
   * Milliseconds a polling POST body may take to arrive in full, from the moment its request is
   * routed (engine.io 6.6.13's option). Bun has no total request deadline, so a body trickled in
   * byte by byte would otherwise hold its connection forever; a slower one is answered 408 (with
   * `Connection: close`) and its session closed with "transport error" ("http request timeout").
   * Default 30000, as engine.io.
   */
  httpRequestBodyTimeout?: number;
  /**
   * Most chunks one polling POST body may arrive in (engine.io 6.6.13's option): a body cut into
   * more pieces is refused with 413 and its session closed ("too many chunks"), so a client cannot
   * make the server hold thousands of tiny buffers. Default 10000, as engine.io.
   */
  maxBufferedChunks?: number;
  /** Transports clients may use. Default ["polling", "websocket"]. */
  transports?: readonly EngineTransportName[];
  /** Let polling sessions upgrade to websocket. Default true. */
  allowUpgrades?: boolean;
  /**
   * Decides whether a handshake (polling or websocket) is accepted, as `(req, callback)` like
   * engine.io or by returning the verdict (see `AllowRequest`); a refusal answers 403 with
   * `{"code":4,"message":"Forbidden"}` (or the given message). Default: every handshake accepted.
   */
  allowRequest?: AllowRequest;
  /**
   * CORS for the polling transport (and error answers). Its origin rule also guards every request
   * of an existing session (polling with a sid, upgrades): one carrying an Origin the rule does not
   * allow is refused 403 (code 4). Without CORS such a request must carry the handshake's Origin,
   * if the handshake had one. No Origin (not a browser): allowed. Default off (no CORS headers).
   */
  cors?: CorsOptions | false;
  /** gzip/deflate of polling responses; `false` turns it off. Default on, threshold 1024 bytes. */
  httpCompression?: HttpCompressionOptions | boolean;
  /**
   * A cookie holding the session id on every handshake answer (polling and websocket), as
   * engine.io's `cookie` option: `true` is `{ name: "io", path: "/", httpOnly: true, sameSite: "lax" }`,
   * an object overrides those. Default false (no cookie).
   */
  cookie?: boolean | CookieOptions;
  /** A message packet sent to every session right after its open packet, as engine.io's. Default none. */
  initialPacket?: RawData;
  /** Websocket permessage-deflate (works with native publish). Default false. */
  perMessageDeflate?: boolean;
  /**
   * Makes the id of a new session (must be unique and URL-safe). Default: 15 random bytes in
   * base64url, 20 characters, like engine.io.
   */
  generateId?: (req: Request) => string | Promise<string>;
  /**
   * Most bytes waiting to be written to one client (a websocket's send buffer, or the packets queued
   * for a polling session). A client over it is closed with "slow client". Default 4 MiB.
   */
  maxBufferedBytes?: number;
  /**
   * How often, in milliseconds, websocket send buffers are checked against `maxBufferedBytes` after
   * a native publish (direct sends are checked at once). Default 1000.
   */
  backpressureCheckInterval?: number;
  /**
   * Consulted before answering "Session ID unknown": the scale-out layer can forward the request to
   * the node that owns `sid` and return its answer. `null` means unknown here too. Default none.
   */
  resolveForeignSession?: (req: Request, sid: string) => Promise<Response | null>;
  /**
   * Consulted for a websocket upgrade of a session this engine does not hold, before "Session ID
   * unknown": the scale-out layer can relay the websocket to the node that owns `sid`. It returns
   * what takes the accepted socket's events, or null to refuse. Default none.
   */
  relayForeignUpgrade?: (req: Request, sid: string) => Promise<ForeignWebSocket | null>;
}

/** A request handler for paths outside the engine's `path` (a Hono app's `fetch`, for example). */
export type FallbackHandler = (
  req: Request,
  server: Server<unknown>,
) => Response | Promise<Response> | undefined | Promise<Response | undefined>;

export interface ResolvedEngineOptions {
  path: string;
  pingInterval: number;
  pingTimeout: number;
  upgradeTimeout: number;
  maxHttpBufferSize: number;
  httpRequestBodyTimeout: number;
  maxBufferedChunks: number;
  transports: readonly EngineTransportName[];
  allowUpgrades: boolean;
  allowRequest: EngineOptions["allowRequest"];
  cors: CorsOptions | false;
  /** `false` when off. */
  httpCompression: Required<HttpCompressionOptions> | false;
  perMessageDeflate: boolean;
  cookie: ResolvedCookieOptions | false;
  initialPacket: RawData | undefined;
  generateId: EngineOptions["generateId"];
  maxBufferedBytes: number;
  backpressureCheckInterval: number;
  resolveForeignSession: EngineOptions["resolveForeignSession"];
  relayForeignUpgrade: EngineOptions["relayForeignUpgrade"];
}

export const ENGINE_DEFAULTS = {
  path: "/engine.io/",
  pingInterval: 25_000,
  pingTimeout: 20_000,
  upgradeTimeout: 10_000,
  maxHttpBufferSize: 1e6,
  httpRequestBodyTimeout: 30_000,
  maxBufferedChunks: 10_000,
  transports: ["polling", "websocket"] as readonly EngineTransportName[],
  allowUpgrades: true,
  httpCompressionThreshold: 1024,
  perMessageDeflate: false,
  maxBufferedBytes: 4 * 1024 * 1024,
  backpressureCheckInterval: 1000,
  corsMethods: "GET,HEAD,PUT,PATCH,POST,DELETE",
  corsOrigin: "*",
} as const;

/** "/socket.io" and "/socket.io/" both become "/socket.io/" (engine.io's `addTrailingSlash`). */
function normalizePath(path: string): string {
  return `${path.replace(/\/$/, "")}/`;
}

export function resolveOptions(opts: EngineOptions = {}): ResolvedEngineOptions {
  const d = ENGINE_DEFAULTS;
  const compression = opts.httpCompression ?? true;
  return {
    path: normalizePath(opts.path ?? d.path),
    pingInterval: opts.pingInterval ?? d.pingInterval,
    pingTimeout: opts.pingTimeout ?? d.pingTimeout,
    upgradeTimeout: opts.upgradeTimeout ?? d.upgradeTimeout,
    maxHttpBufferSize: opts.maxHttpBufferSize ?? d.maxHttpBufferSize,
    httpRequestBodyTimeout: opts.httpRequestBodyTimeout ?? d.httpRequestBodyTimeout,
    maxBufferedChunks: opts.maxBufferedChunks ?? d.maxBufferedChunks,
    transports: opts.transports ?? d.transports,
    allowUpgrades: opts.allowUpgrades ?? d.allowUpgrades,
    allowRequest: opts.allowRequest,
    cors: opts.cors ?? false,
    httpCompression:
      compression === false
        ? false
        : {
            threshold:
              (compression === true ? undefined : compression.threshold) ?? d.httpCompressionThreshold,
          },
    perMessageDeflate: opts.perMessageDeflate ?? d.perMessageDeflate,
    cookie: resolveCookie(opts.cookie),
    initialPacket: opts.initialPacket,
    generateId: opts.generateId,
    maxBufferedBytes: opts.maxBufferedBytes ?? d.maxBufferedBytes,
    backpressureCheckInterval: opts.backpressureCheckInterval ?? d.backpressureCheckInterval,
    resolveForeignSession: opts.resolveForeignSession,
    relayForeignUpgrade: opts.relayForeignUpgrade,
  };
}
