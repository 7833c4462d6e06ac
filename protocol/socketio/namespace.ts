/**
 * A namespace: its sockets, its connection middlewares, its adapter, and the broadcast shortcuts
 * (`nsp.to(room).emit(...)`, `nsp.emit(...)`, `fetchSockets`, `serverSideEmit`, ...).
 */
import type { Adapter } from "../adapter/adapter.ts";
import { Adapter as InMemoryAdapter } from "../adapter/adapter.ts";
import { SessionAwareAdapter } from "../adapter/session-aware.ts";
import type { Room, Session } from "../adapter/types.ts";
import { createLogger } from "../logger.ts";
import { runHook } from "../user-hooks.ts";
import { BroadcastOperator, type RemoteSocket, withRooms } from "./broadcast-operator.ts";
import type { Client } from "./client.ts";
import { type Middleware, type MiddlewareError, runMiddlewares } from "./middleware.ts";
import type { AdapterConstructor } from "./options.ts";
import { ErrorMessages, RESERVED_EVENTS } from "./reasons.ts";
import type { Server } from "./server.ts";
import type { AnyNamespace } from "./server-types.ts";
import { Socket } from "./socket.ts";
import {
  type AckResult,
  type AllButLast,
  type DecorateAcknowledgementsWithMultipleResponses,
  type DefaultEventsMap,
  type EventNames,
  type EventNamesWithAck,
  type EventParams,
  type EventsMap,
  type Last,
  type MultiAckResult,
  TypedEmitter,
} from "./typed-events.ts";

const log = createLogger("socketio");

export interface NamespaceReservedEvents<L extends EventsMap, E extends EventsMap, S extends EventsMap, D> {
  connect: (socket: Socket<L, E, S, D>) => void;
  connection: (socket: Socket<L, E, S, D>) => void;
}

function createAdapter(
  factory: AdapterConstructor | undefined,
  nsp: AnyNamespace,
  recovery: boolean,
): Adapter {
  if (!factory) return recovery ? new SessionAwareAdapter(nsp) : new InMemoryAdapter(nsp);
  // A class (or a plain function, like @socket.io/redis-adapter's createAdapter) is called with
  // `new`; an arrow function has no prototype and is called directly.
  if (factory.prototype) return new (factory as new (n: AnyNamespace) => Adapter)(nsp);
  return (factory as (n: AnyNamespace) => Adapter)(nsp);
}

type BroadcastTo<E extends EventsMap, D> = BroadcastOperator<
  DecorateAcknowledgementsWithMultipleResponses<E>,
  D
>;

export class Namespace<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = unknown,
> extends TypedEmitter<
  ServerSideEvents,
  NamespaceReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
> {
  /** Connected sockets by id. */
  readonly sockets = new Map<string, Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();
  adapter: Adapter;
  /** @internal Connection middlewares. */
  _fns: Middleware<Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>[] = [];
  /** @internal Sockets with onAnyOutgoing listeners; while any, broadcasts skip the native fan-out. */
  _outgoingWatchers = 0;
  /** @internal Called when the last socket leaves (dynamic children with cleanupEmptyChildNamespaces). */
  _onEmpty: (() => void) | undefined;
  private ackIds = 0;

  constructor(
    readonly server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
    readonly name: string,
  ) {
    super();
    this.adapter = this._initAdapter();
  }

  /** @internal Build (again, after `io.adapter(factory)`) this namespace's adapter and start it. */
  _initAdapter(): Adapter {
    const adapter = createAdapter(
      this.server.opts.adapter,
      this as never,
      !!this.server.opts.connectionStateRecovery,
    );
    this.adapter = adapter;
    runHook(log, "adapter init failed", { nsp: this.name }, () => adapter.init());
    return adapter;
  }

  /** @internal Next packet id for an ack (shared by every socket of the namespace). */
  _nextAckId(): number {
    return this.ackIds++;
  }

  /** Add a connection middleware: `(socket, next)`; `next(err)` refuses with CONNECT_ERROR {message, data}. */
  use(fn: Middleware<Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>): this {
    this._fns.push(fn);
    return this;
  }

  private operator(): BroadcastTo<EmitEvents, SocketData> {
    return new BroadcastOperator(this.adapter);
  }

  to(room: Room | Room[]): BroadcastTo<EmitEvents, SocketData> {
    // Built in one step: `io.to(room).emit(...)` runs once per broadcast.
    return new BroadcastOperator(this.adapter, withRooms(undefined, room));
  }

  in(room: Room | Room[]): BroadcastTo<EmitEvents, SocketData> {
    return this.to(room);
  }

  except(room: Room | Room[]): BroadcastTo<EmitEvents, SocketData> {
    return this.operator().except(room);
  }

  get local(): BroadcastTo<EmitEvents, SocketData> {
    return this.operator().local;
  }

  get volatile(): BroadcastTo<EmitEvents, SocketData> {
    return this.operator().volatile;
  }

  compress(compress: boolean): BroadcastTo<EmitEvents, SocketData> {
    return this.operator().compress(compress);
  }

  timeout(ms: number): BroadcastTo<EmitEvents, SocketData> {
    return this.operator().timeout(ms);
  }

  /** Send to every socket of the namespace. */
  override emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    // biome-ignore lint/suspicious/noExplicitAny: same arguments, decorated ack type
    return (this.operator().emit as (ev: string, ...a: any[]) => boolean)(ev, ...args);
  }

  emitWithAck<Ev extends EventNamesWithAck<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>>>(
    ev: Ev,
    ...args: AllButLast<EventParams<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, Ev>>
  ): Promise<
    MultiAckResult<Last<EventParams<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, Ev>>>
  > {
    return this.operator().emitWithAck(ev, ...args);
  }

  fetchSockets(): Promise<
    (Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | RemoteSocket<EmitEvents, SocketData>)[]
  > {
    return this.operator().fetchSockets() as never;
  }

  socketsJoin(room: Room | Room[]): void {
    this.operator().socketsJoin(room);
  }

  socketsLeave(room: Room | Room[]): void {
    this.operator().socketsLeave(room);
  }

  disconnectSockets(close = false): void {
    this.operator().disconnectSockets(close);
  }

  /** Emit to the other nodes of the cluster (a no-op on a single node). */
  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(
    ev: Ev,
    ...args: EventParams<ServerSideEvents, Ev>
  ): boolean {
    if (RESERVED_EVENTS.has(ev)) throw new Error(`"${String(ev)}" ${ErrorMessages.RESERVED_EVENT}`);
    this.adapter.serverSideEmit([ev, ...args]);
    return true;
  }

  /** `serverSideEmit` expecting one answer per other node; resolves with them (none on a single node). */
  serverSideEmitWithAck<Ev extends EventNamesWithAck<ServerSideEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<ServerSideEvents, Ev>>
  ): Promise<AckResult<Last<EventParams<ServerSideEvents, Ev>>>[]> {
    return new Promise((resolve, reject) => {
      // As socket.io's, a timeout rejects with the answers of the nodes that did answer as `err.responses`.
      const ack = (err: Error | null, responses: AckResult<Last<EventParams<ServerSideEvents, Ev>>>[]) =>
        err ? reject(Object.assign(err, { responses })) : resolve(responses);
      // biome-ignore lint/suspicious/noExplicitAny: the ack is appended to the typed arguments
      (this.serverSideEmit as (ev: string, ...a: any[]) => boolean)(ev, ...args, ack);
    });
  }

  /** Ids of every socket of the namespace (socket.io's deprecated `allSockets`; prefer `fetchSockets`). */
  allSockets(): Promise<Set<string>> {
    return this.operator().allSockets();
  }

  /** Alias of `send`, as socket.io's `write`. */
  write(...args: EventParams<EmitEvents, "message">): this {
    return this.send(...args);
  }

  /** `emit("message", ...args)`, as socket.io's `send`. */
  send(...args: EventParams<EmitEvents, "message">): this {
    // biome-ignore lint/suspicious/noExplicitAny: "message" may be absent from a typed map
    (this.emit as (ev: string, ...a: any[]) => boolean)("message", ...args);
    return this;
  }

  /** @internal An event from another node of the cluster. */
  _onServerSideEmit(args: [string, ...unknown[]]): void {
    this.emitUntyped(...args);
  }

  /**
   * @internal A client asks to connect: build the socket, run middlewares, connect or refuse. The
   * client hears of a socket that connected through `_socketConnected`. (The steps of every connect
   * hold no closure, unless a middleware or a recovery needs one: each closure costs a scope object
   * per call of the function holding it, and connects come in bursts of thousands.)
   */
  _add(client: Client, auth: Record<string, unknown>): void {
    const recovery = this.server.opts.connectionStateRecovery;
    if (recovery && typeof auth.pid === "string" && typeof auth.offset === "string") {
      this.addRecovering(client, auth, auth.pid, auth.offset);
      return;
    }
    this.admit(new Socket(this, client, auth));
  }

  /** `_add` for a client that asks to recover session `pid` from `offset`. */
  private addRecovering(client: Client, auth: Record<string, unknown>, pid: string, offset: string): void {
    const fresh = (err: unknown) => {
      log.warn("session restore failed", { nsp: this.name, error: err });
      this.admit(new Socket(this, client, auth));
    };
    let restoring: Promise<Session | null>;
    try {
      restoring = this.adapter.restoreSession(pid, offset);
    } catch (err) {
      fresh(err);
      return;
    }
    restoring.then((session) => this.admit(new Socket(this, client, auth, session ?? undefined)), fresh);
  }

  private admit(socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): void {
    if (socket.recovered && this.server.opts.connectionStateRecovery?.skipMiddlewares) {
      this.doConnect(socket);
      return;
    }
    // What runMiddlewares does with no middleware, without the closure it takes.
    if (this._fns.length === 0) {
      this.afterMiddlewares(socket);
      return;
    }
    this.runMiddlewares(socket);
  }

  /** Apart from `admit` because of its closure (see `_add`). */
  private runMiddlewares(socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): void {
    runMiddlewares(this._fns, socket, (err?: MiddlewareError) => this.afterMiddlewares(socket, err), log);
  }

  /** The middlewares let `socket` in (no `err`) or refused it. */
  private afterMiddlewares(
    socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
    err?: MiddlewareError,
  ): void {
    if (socket.client.conn.state !== "open") {
      socket._cleanup();
      return;
    }
    if (err) {
      socket._cleanup();
      socket._error(
        err.data === undefined ? { message: err.message } : { message: err.message, data: err.data },
      );
      return;
    }
    this.doConnect(socket);
  }

  private doConnect(socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): void {
    if (socket.client.conn.state !== "open") return;
    this.sockets.set(socket.id, socket);
    socket._onconnect();
    socket.client._socketConnected(socket);
    // A throwing or rejecting listener is logged by the emitter; the socket stays connected.
    this.emitReserved("connect", socket);
    this.emitReserved("connection", socket);
  }

  /**
   * @internal A socket left, or was refused by a middleware (it never was in `sockets`): either way
   * an empty dynamic child goes, as socket.io's cleanup checks after a refusal too.
   */
  _remove(socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): void {
    if (this.sockets.get(socket.id) === socket) this.sockets.delete(socket.id);
    if (this.sockets.size === 0) this._onEmpty?.();
  }
}
