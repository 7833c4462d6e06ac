/**
 * The public entry point, shaped as socket.io's `Server`: options, the engine it runs on, the
 * namespaces (static and dynamic), and shortcuts to the main namespace ("/").
 */
import type { Server as BunServer } from "bun";
import type { PacketEncoder } from "../adapter/host.ts";
import type { Room } from "../adapter/types.ts";
import type { EngineSocket } from "../engine/contract.ts";
import { Engine, type EngineHandler, type EngineOptions, type FallbackHandler } from "../engine/index.ts";
import type { EngineWsData } from "../engine/session.ts";
import { createLogger } from "../logger.ts";
import { runHook } from "../user-hooks.ts";
import type { BroadcastOperator, RemoteSocket } from "./broadcast-operator.ts";
import { Client } from "./client.ts";
import { ClientBundle } from "./client-bundle.ts";
import type { Middleware } from "./middleware.ts";
import { Namespace, type NamespaceReservedEvents } from "./namespace.ts";
import {
  type AdapterConstructor,
  type ResolvedSocketIoOptions,
  resolveSocketIoOptions,
  type SocketIoOptions,
} from "./options.ts";
import { createCodec, type PacketCodec } from "./packet-codec.ts";
import { type NamespaceMatcher, ParentNamespace } from "./parent-namespace.ts";
import { DisconnectReasons } from "./reasons.ts";
import type { Socket } from "./socket.ts";
import type {
  AckResult,
  AllButLast,
  DecorateAcknowledgementsWithMultipleResponses,
  DefaultEventsMap,
  EventNames,
  EventNamesWithAck,
  EventParams,
  EventsMap,
  Last,
  ListenerOf,
  MultiAckResult,
} from "./typed-events.ts";

const log = createLogger("socketio");

/** Engine options (pingInterval, transports, cors, ...) plus the Socket.IO layer's. */
export type ServerOptions = EngineOptions & Partial<SocketIoOptions>;

type MainEvents<L extends EventsMap, E extends EventsMap, S extends EventsMap, D> = NamespaceReservedEvents<
  L,
  E,
  S,
  D
> & {
  new_namespace: (nsp: Namespace<L, E, S, D>) => void;
};

/** Event names `io.on/once/off` accept: the main namespace's reserved events and server-side events. */
type MainEventName<L extends EventsMap, E extends EventsMap, S extends EventsMap, D> =
  | EventNames<MainEvents<L, E, S, D>>
  | EventNames<S>;

/** The listener type for one of those events. */
type MainListener<
  L extends EventsMap,
  E extends EventsMap,
  S extends EventsMap,
  D,
  Ev extends MainEventName<L, E, S, D>,
> = ListenerOf<MainEvents<L, E, S, D>, S, Ev>;

type Broadcast<E extends EventsMap, D> = BroadcastOperator<
  DecorateAcknowledgementsWithMultipleResponses<E>,
  D
>;

export class Server<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = unknown,
> {
  readonly opts: ResolvedSocketIoOptions;
  /** @internal Packets to frames and back, with the `parser` option. */
  readonly _codec: PacketCodec;
  private clientBundle: ClientBundle | null;
  /** The Engine.IO server underneath (sessions, transports, native publish). */
  readonly engine: Engine;
  /** The main namespace "/". */
  readonly sockets: MainNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  /** @internal Namespaces by name. */
  readonly _nsps = new Map<string, Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();
  private readonly parentNsps = new Map<
    NamespaceMatcher,
    ParentNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
  >();
  /** RegExp patterns by source, so `io.of("/team-1")` can create a matching child at once. */
  private readonly parentsFromRegExp = new Map<
    string,
    { regex: RegExp; parent: ParentNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> }
  >();

  /**
   * `new Server(opts)`, or `new Server(port, opts)` which also listens on `port` (as socket.io's).
   * socket.io's `new Server(httpServer, opts)` has no equivalent on Bun: a Node http server is
   * refused with a message pointing to `io.handler()`.
   */
  // The options form last: ConstructorParameters<typeof Server> (used by callers) reads it.
  constructor(port: number, opts?: ServerOptions);
  constructor(opts?: ServerOptions);
  constructor(portOrOpts: number | ServerOptions = {}, maybeOpts: ServerOptions = {}) {
    const opts = typeof portOrOpts === "number" ? maybeOpts : portOrOpts;
    if (isNodeHttpServer(opts))
      throw new TypeError(
        "Switchboard runs on Bun.serve, not on a Node http server: use Bun.serve({ ...io.handler(app) }) or io.listen(port)",
      );
    this.opts = resolveSocketIoOptions(opts);
    this._codec = createCodec(this.opts.parser, this.opts.maxAttachments);
    this.engine = new Engine({ ...opts, path: this.opts.path });
    this.clientBundle = this.opts.serveClient
      ? new ClientBundle(this.engine.opts.path, this.engine.opts.cors)
      : null;
    this.engine.on("connection", (conn: EngineSocket) => {
      new Client(this, conn);
    });
    this.sockets = new MainNamespace(this, "/");
    this._nsps.set("/", this.sockets);
    if (typeof portOrOpts === "number") this.listen(portOrOpts);
  }

  /** Encodes packets with the server's parser (adapters encode a broadcast once with it). */
  get encoder(): PacketEncoder {
    return this._codec;
  }

  /** Whether the client bundles are served (`serveClient` option); with a value, turns it on or off. */
  serveClient(): boolean;
  serveClient(v: boolean): this;
  serveClient(v?: boolean): this | boolean {
    if (v === undefined) return this.opts.serveClient;
    this.opts.serveClient = v;
    this.clientBundle = v
      ? (this.clientBundle ?? new ClientBundle(this.engine.opts.path, this.engine.opts.cors))
      : null;
    return this;
  }

  /**
   * The path the server answers on, without its trailing slash as socket.io's `path()` returns it.
   * Read-only here: the engine is built with it, so it is given as the `path` option.
   */
  path(): string {
    return this.engine.opts.path.replace(/\/$/, "");
  }

  /** The `connectTimeout` in milliseconds; with a value, sets it for connections opened later. */
  connectTimeout(): number;
  connectTimeout(v: number): this;
  connectTimeout(v?: number): this | number {
    if (v === undefined) return this.opts.connectTimeout;
    this.opts.connectTimeout = v;
    return this;
  }

  /**
   * The adapter factory namespaces are built with; with a factory, every namespace (existing ones
   * too) gets a new adapter built by it, as socket.io's `io.adapter(v)`.
   */
  adapter(): AdapterConstructor | undefined;
  adapter(v: AdapterConstructor): this;
  adapter(v?: AdapterConstructor): this | AdapterConstructor | undefined {
    if (v === undefined) return this.opts.adapter;
    this.opts.adapter = v;
    for (const nsp of this._nsps.values()) nsp._initAdapter();
    return this;
  }

  /**
   * `{ fetch, websocket }` for Bun.serve; other paths go to `fallback` (a Hono app's fetch, say).
   * With `serveClient`, the client bundles are answered before the engine sees the request.
   */
  handler(fallback?: FallbackHandler): EngineHandler {
    const engine = this.engine.handler(fallback);
    // Looked up per request: `serveClient(false)` after the handler was built still applies.
    return {
      fetch: (req, server) => {
        const bundle = this.clientBundle;
        const name = bundle?.match(req);
        if (name === undefined) return engine.fetch(req, server);
        return bundle!.serve(req, name).then((res) => res ?? engine.fetch(req, server));
      },
      websocket: engine.websocket,
    };
  }

  /** Start a Bun server of its own on `port` (0 picks a free one); `close()` stops it. */
  listen(port: number, hostname?: string): BunServer<EngineWsData> {
    return this.engine.listen(port, hostname, this.handler());
  }

  /**
   * The namespace `name`, created on first use; a RegExp or a function declares dynamic
   * namespaces, created when a client first connects to a matching name.
   */
  of(
    name: string | RegExp | NamespaceMatcher,
    fn?: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void,
  ): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
    if (typeof name === "function" || name instanceof RegExp) {
      const key = name instanceof RegExp ? name.toString() : undefined;
      const existing = key
        ? this.parentsFromRegExp.get(key)?.parent
        : this.parentNsps.get(name as NamespaceMatcher);
      if (existing) {
        if (fn) existing.on("connection", fn);
        return existing;
      }
      const parent = new ParentNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>(this);
      const matcher: NamespaceMatcher =
        name instanceof RegExp ? (nsp, _auth, next) => next(null, name.test(nsp)) : name;
      this.parentNsps.set(matcher, parent);
      if (name instanceof RegExp) this.parentsFromRegExp.set(name.toString(), { regex: name, parent });
      if (fn) parent.on("connection", fn);
      return parent;
    }
    const nspName = name.startsWith("/") ? name : `/${name}`;
    let nsp = this._nsps.get(nspName);
    if (!nsp) {
      // As socket.io: a name matching a RegExp pattern becomes its child at once; function
      // matchers (which may be async or look at auth) are only consulted when a client connects.
      for (const { regex, parent } of this.parentsFromRegExp.values()) {
        if (regex.test(nspName)) {
          nsp = parent.createChild(nspName);
          break;
        }
      }
    }
    if (!nsp) {
      nsp = new Namespace(this, nspName);
      this._nsps.set(nspName, nsp);
      if (nspName !== "/") this.sockets.emitNewNamespace(nsp);
    }
    if (fn) nsp.on("connection", fn);
    return nsp;
  }

  /** @internal Find a dynamic namespace pattern accepting `name`; `fn(false)` when none does. */
  _checkNamespace(name: string, auth: Record<string, unknown>, fn: (nsp: Namespace | false) => void): void {
    const parents = [...this.parentNsps];
    const next = (i: number): void => {
      const entry = parents[i];
      if (!entry) {
        fn(false);
        return;
      }
      const [matcher, parent] = entry;
      let answered = false;
      const answer = (err: Error | null, allow: boolean): void => {
        if (answered) return;
        answered = true;
        if (err || !allow) {
          next(i + 1);
          return;
        }
        const existing = this._nsps.get(name);
        fn((existing ?? parent.createChild(name)) as unknown as Namespace);
      };
      // A matcher that throws or rejects is logged and counts as "no match": the client gets
      // "Invalid namespace" unless a later pattern accepts the name.
      runHook(
        log,
        "dynamic namespace function failed",
        { nsp: name },
        () => matcher(name, auth, answer),
        (err) => answer(err, false),
      );
    };
    next(0);
  }

  /**
   * Disconnect every socket ("server shutting down"), close the adapters, then the engine; `fn`
   * is called once done, as socket.io's `close(fn)`.
   */
  async close(fn?: (err?: Error) => void): Promise<void> {
    try {
      await this.shutdown();
    } catch (err) {
      fn?.(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    fn?.();
  }

  private async shutdown(): Promise<void> {
    await Promise.allSettled(
      [...this._nsps.values()].map(async (nsp) => {
        for (const socket of [...nsp.sockets.values()])
          socket.onclose(DisconnectReasons.SERVER_SHUTTING_DOWN);
        await nsp.adapter.close();
      }),
    );
    await this.engine.close(DisconnectReasons.SERVER_SHUTTING_DOWN);
    log.debug("server closed");
  }

  // ── the main namespace's API, as socket.io exposes it on the server ───────────────────────────

  on<Ev extends MainEventName<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>(
    ev: Ev,
    listener: MainListener<ListenEvents, EmitEvents, ServerSideEvents, SocketData, Ev>,
  ): this {
    (this.sockets.on as (ev: string, l: unknown) => unknown)(ev, listener);
    return this;
  }

  once<Ev extends MainEventName<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>(
    ev: Ev,
    listener: MainListener<ListenEvents, EmitEvents, ServerSideEvents, SocketData, Ev>,
  ): this {
    (this.sockets.once as (ev: string, l: unknown) => unknown)(ev, listener);
    return this;
  }

  off<Ev extends MainEventName<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>(
    ev: Ev,
    listener: MainListener<ListenEvents, EmitEvents, ServerSideEvents, SocketData, Ev>,
  ): this {
    (this.sockets.off as (ev: string, l: unknown) => unknown)(ev, listener);
    return this;
  }

  use(fn: Middleware<Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>): this {
    this.sockets.use(fn);
    return this;
  }

  to(room: Room | Room[]): Broadcast<EmitEvents, SocketData> {
    return this.sockets.to(room);
  }

  in(room: Room | Room[]): Broadcast<EmitEvents, SocketData> {
    return this.sockets.in(room);
  }

  except(room: Room | Room[]): Broadcast<EmitEvents, SocketData> {
    return this.sockets.except(room);
  }

  get local(): Broadcast<EmitEvents, SocketData> {
    return this.sockets.local;
  }

  get volatile(): Broadcast<EmitEvents, SocketData> {
    return this.sockets.volatile;
  }

  compress(compress: boolean): Broadcast<EmitEvents, SocketData> {
    return this.sockets.compress(compress);
  }

  timeout(ms: number): Broadcast<EmitEvents, SocketData> {
    return this.sockets.timeout(ms);
  }

  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    return this.sockets.emit(ev, ...args);
  }

  emitWithAck<Ev extends EventNamesWithAck<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>>>(
    ev: Ev,
    ...args: AllButLast<EventParams<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, Ev>>
  ): Promise<
    MultiAckResult<Last<EventParams<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, Ev>>>
  > {
    return this.sockets.emitWithAck(ev, ...args);
  }

  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(
    ev: Ev,
    ...args: EventParams<ServerSideEvents, Ev>
  ): boolean {
    return this.sockets.serverSideEmit(ev, ...args);
  }

  serverSideEmitWithAck<Ev extends EventNamesWithAck<ServerSideEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<ServerSideEvents, Ev>>
  ): Promise<AckResult<Last<EventParams<ServerSideEvents, Ev>>>[]> {
    return this.sockets.serverSideEmitWithAck(ev, ...args);
  }

  send(...args: EventParams<EmitEvents, "message">): this {
    this.sockets.send(...args);
    return this;
  }

  write(...args: EventParams<EmitEvents, "message">): this {
    this.sockets.send(...args);
    return this;
  }

  /** Ids of the main namespace's sockets (socket.io's deprecated `allSockets`; prefer `fetchSockets`). */
  allSockets(): Promise<Set<string>> {
    return this.sockets.allSockets();
  }

  // ── EventEmitter methods, on the main namespace as socket.io proxies them ──────────────────────

  addListener<Ev extends MainEventName<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>(
    ev: Ev,
    listener: MainListener<ListenEvents, EmitEvents, ServerSideEvents, SocketData, Ev>,
  ): this {
    return this.on(ev, listener);
  }

  removeListener<Ev extends MainEventName<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>(
    ev: Ev,
    listener: MainListener<ListenEvents, EmitEvents, ServerSideEvents, SocketData, Ev>,
  ): this {
    return this.off(ev, listener);
  }

  prependListener<Ev extends MainEventName<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>(
    ev: Ev,
    listener: MainListener<ListenEvents, EmitEvents, ServerSideEvents, SocketData, Ev>,
  ): this {
    this.sockets.prependListener(ev, listener as never);
    return this;
  }

  prependOnceListener<Ev extends MainEventName<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>(
    ev: Ev,
    listener: MainListener<ListenEvents, EmitEvents, ServerSideEvents, SocketData, Ev>,
  ): this {
    this.sockets.prependOnceListener(ev, listener as never);
    return this;
  }

  removeAllListeners(ev?: MainEventName<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): this {
    this.sockets.removeAllListeners(ev);
    return this;
  }

  listeners(ev: MainEventName<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): Function[] {
    return this.sockets.listeners(ev);
  }

  rawListeners(ev: MainEventName<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): Function[] {
    return this.sockets.rawListeners(ev);
  }

  listenerCount(ev: MainEventName<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): number {
    return this.sockets.listenerCount(ev);
  }

  eventNames(): (string | symbol)[] {
    return this.sockets.eventNames();
  }

  setMaxListeners(n: number): this {
    this.sockets.setMaxListeners(n);
    return this;
  }

  getMaxListeners(): number {
    return this.sockets.getMaxListeners();
  }

  fetchSockets(): Promise<
    (Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | RemoteSocket<EmitEvents, SocketData>)[]
  > {
    return this.sockets.fetchSockets();
  }

  socketsJoin(room: Room | Room[]): void {
    this.sockets.socketsJoin(room);
  }

  socketsLeave(room: Room | Room[]): void {
    this.sockets.socketsLeave(room);
  }

  disconnectSockets(close = false): void {
    this.sockets.disconnectSockets(close);
  }
}

/** A Node `http.Server` (what socket.io's constructor and `attach` take), told apart from options. */
function isNodeHttpServer(value: unknown): boolean {
  const candidate = value as { listen?: unknown; on?: unknown; address?: unknown };
  return (
    typeof candidate.listen === "function" &&
    typeof candidate.on === "function" &&
    typeof candidate.address === "function"
  );
}

/** The main namespace also announces new namespaces ("new_namespace"). */
class MainNamespace<L extends EventsMap, E extends EventsMap, S extends EventsMap, D> extends Namespace<
  L,
  E,
  S,
  D
> {
  /** @internal */
  emitNewNamespace(nsp: Namespace<L, E, S, D>): void {
    this.emitUntyped("new_namespace", nsp);
  }
}
