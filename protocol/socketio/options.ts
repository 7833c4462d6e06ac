/**
 * Options of the Socket.IO layer and their defaults (one place). The public `ServerOptions` adds
 * the engine's options (see server.ts).
 */
import type { Adapter } from "../adapter/adapter.ts";
import type { Parser } from "./packet-codec.ts";
import type { AnyNamespace } from "./server-types.ts";

/** Builds the adapter of a namespace: a class (`new`) or a factory function (called). */
export type AdapterConstructor = (new (nsp: AnyNamespace) => Adapter) | ((nsp: AnyNamespace) => Adapter);

export interface ConnectionStateRecoveryOptions {
  /**
   * How long after a disconnection the client may come back and recover its id, rooms, `data` and
   * the packets it missed. Default 120000 (2 minutes).
   */
  maxDisconnectionDuration: number;
  /** Skip the namespace middlewares when a session is recovered. Default true. */
  skipMiddlewares: boolean;
  /**
   * At most this many broadcasts are kept per namespace for recovery; the oldest go first. A client
   * whose offset was dropped reconnects with a fresh session (`recovered` false) instead of the
   * store growing with the message rate. Default 10000.
   */
  maxStoredPackets: number;
}

export interface SocketIoOptions {
  /** Path the server answers on. Default "/socket.io/" (passed to the engine). */
  path: string;
  /**
   * Close an engine session that has not connected to any namespace after this many milliseconds.
   * Default 45000.
   */
  connectTimeout: number;
  /**
   * Enable connection-state recovery (socket.io 4.6+). Off unless given; a partial object takes the
   * defaults for the missing fields.
   */
  connectionStateRecovery: Partial<ConnectionStateRecoveryOptions> | undefined;
  /** The adapter of every namespace. Default the in-memory adapter (the session-aware one with recovery). */
  adapter: AdapterConstructor | undefined;
  /** Remove a dynamic child namespace when its last socket leaves. Default false. */
  cleanupEmptyChildNamespaces: boolean;
  /**
   * Most binary attachments one packet may announce; a packet over it closes the connection as a
   * parse error (protects the server from unbounded reassembly). Default 10.
   */
  maxAttachments: number;
  /**
   * The packet parser, as socket.io's `parser` option: a module with socket.io-parser's `Encoder`
   * and `Decoder` shape, such as `socket.io-msgpack-parser` (clients must use the same one).
   * Default socket.io-parser.
   */
  parser: Parser | undefined;
  /**
   * Serve the browser bundles of the installed socket.io-client under `path`
   * (`socket.io.min.js`, ...), as socket.io does. Default true.
   */
  serveClient: boolean;
}

export const SOCKETIO_DEFAULTS: Readonly<
  Omit<SocketIoOptions, "connectionStateRecovery" | "adapter" | "parser">
> = {
  path: "/socket.io/",
  connectTimeout: 45_000,
  cleanupEmptyChildNamespaces: false,
  maxAttachments: 10,
  serveClient: true,
};

export const RECOVERY_DEFAULTS: Readonly<ConnectionStateRecoveryOptions> = {
  maxDisconnectionDuration: 2 * 60 * 1000,
  skipMiddlewares: true,
  maxStoredPackets: 10_000,
};

/** Resolved Socket.IO options: defaults applied, recovery either fully resolved or off. */
export interface ResolvedSocketIoOptions extends Omit<SocketIoOptions, "connectionStateRecovery"> {
  connectionStateRecovery: ConnectionStateRecoveryOptions | undefined;
}

export function resolveSocketIoOptions(opts: Partial<SocketIoOptions>): ResolvedSocketIoOptions {
  return {
    path: opts.path ?? SOCKETIO_DEFAULTS.path,
    connectTimeout: opts.connectTimeout ?? SOCKETIO_DEFAULTS.connectTimeout,
    cleanupEmptyChildNamespaces:
      opts.cleanupEmptyChildNamespaces ?? SOCKETIO_DEFAULTS.cleanupEmptyChildNamespaces,
    maxAttachments: opts.maxAttachments ?? SOCKETIO_DEFAULTS.maxAttachments,
    adapter: opts.adapter,
    parser: opts.parser,
    serveClient: opts.serveClient ?? SOCKETIO_DEFAULTS.serveClient,
    connectionStateRecovery: opts.connectionStateRecovery
      ? { ...RECOVERY_DEFAULTS, ...opts.connectionStateRecovery }
      : undefined,
  };
}
