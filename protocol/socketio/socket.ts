/**
 * One client's presence in one namespace: receives its events (through per-packet middlewares),
 * sends to it, tracks acks both ways, joins rooms, and disconnects with socket.io's reasons.
 */

import { type Adapter, writeOptions } from "../adapter/adapter.ts";
import type { BroadcastFlags, Room, Session } from "../adapter/types.ts";
import type { EngineSocket } from "../engine/contract.ts";
import { createLogger } from "../logger.ts";
import { asError, runHook, watchResult } from "../user-hooks.ts";
import { type AckCallback, once, registerAck } from "./acks.ts";
import { BroadcastOperator, withRooms } from "./broadcast-operator.ts";
import { type CatchAllListener, CatchAllListeners } from "./catch-all.ts";
import type { Client } from "./client.ts";
import { buildHandshake, type Handshake, isEmptyObject } from "./handshake.ts";
import { generateId } from "./ids.ts";
import { type Middleware, type MiddlewareError, runMiddlewares } from "./middleware.ts";
import type { Namespace } from "./namespace.ts";
import { type Packet, PacketType } from "./packet-codec.ts";
import {
  type DisconnectReason,
  DisconnectReasons,
  ErrorMessages,
  RECOVERABLE_DISCONNECT_REASONS,
  RESERVED_EVENTS,
} from "./reasons.ts";
import {
  type AckResult,
  type AllButLast,
  type DecorateAcknowledgements,
  type DecorateAcknowledgementsWithMultipleResponses,
  type DefaultEventsMap,
  type EventNames,
  type EventNamesWithAck,
  type EventParams,
  type EventsMap,
  type Last,
  TypedEmitter,
} from "./typed-events.ts";

const log = createLogger("socketio");
const ADD_ALL_FAILED = "adapter addAll failed";

export interface SocketReservedEvents {
  disconnect: (reason: DisconnectReason, description?: unknown) => void;
  disconnecting: (reason: DisconnectReason, description?: unknown) => void;
  error: (err: Error) => void;
}

/** `socket.request`: the parts of Node's IncomingMessage a socket.io application reads. */
export interface SocketRequest {
  headers: Record<string, string>;
  url: string;
  method: string;
  connection: { remoteAddress: string };
  socket: { remoteAddress: string };
  /**
   * The handshake's query as a plain object: engine.io sets `req._query`, and socket.io code
   * written before `handshake.query` existed reads it (socket.io-client's own test server does).
   */
  _query: Record<string, string>;
}

/** An incoming event as per-packet middlewares see it: `[eventName, ...args]`. */
export type Event = [string, ...unknown[]];

/** What a socket holds only until it is connected. */
interface Connecting {
  /** Rooms joined before the socket is connected (by a middleware, or restored), joined at connect. */
  rooms?: Room[];
  /** Packets a recovered session missed, sent once connected. */
  missedPackets?: unknown[][];
}

/** What few sockets have: per-packet middlewares (`use`) and catch-all listeners (`onAny*`). */
interface SocketHooks {
  fns?: Middleware<Event>[];
  incoming?: CatchAllListeners;
  outgoing?: CatchAllListeners;
}

export class Socket<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = unknown,
> extends TypedEmitter<ListenEvents, SocketReservedEvents> {
  /** Session id, also the name of the room only this socket is in. */
  readonly id: string;
  /** Private id the client presents to recover this session (with connection-state recovery). */
  readonly pid: string | undefined;
  /**
   * The auth payload of CONNECT, and when the socket connected: the handshake is built from them on
   * first read. An empty payload (a client without `auth`) is not kept: the handshake gets `{}`.
   */
  private readonly auth: Record<string, unknown> | undefined;
  private readonly issued = Date.now();
  private builtHandshake: Handshake | undefined;
  /** `socket.data`, created on first read. */
  private socketData: SocketData | undefined;
  /** True when this connection resumed an earlier session (connection-state recovery). */
  readonly recovered: boolean = false;
  // Sockets are many and mostly idle: what most of them never use (acks, middlewares, flags,
  // catch-all listeners, missed packets, pending rooms) is created on first use, and what is
  // rarely used shares one field, so that a Socket stays within 14 fields (with the EventEmitter's
  // own, Bun's 224-byte cell; 18 fields took 320).
  private pendingAcks: Map<number, AckCallback> | undefined;
  /** Flags of the next emit (`timeout`, `volatile`, `compress`). */
  private flags: BroadcastFlags | undefined;
  private hooks: SocketHooks | undefined;
  private connecting: Connecting | undefined;
  /**
   * connecting (connection middlewares running) → connected → disconnected. A disconnected socket
   * never comes back (a recovered session is a new Socket with the same id).
   */
  private state: "connecting" | "connected" | "disconnected" = "connecting";

  constructor(
    readonly nsp: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
    readonly client: Client,
    auth: Record<string, unknown>,
    previousSession?: Session,
  ) {
    super();
    this.auth = isEmptyObject(auth) ? undefined : auth;
    const recovery = nsp.server.opts.connectionStateRecovery;
    if (previousSession) {
      this.id = previousSession.sid;
      this.pid = previousSession.pid;
      this.socketData = previousSession.data as SocketData;
      this.recovered = true;
      this.connecting = { rooms: previousSession.rooms, missedPackets: previousSession.missedPackets };
    } else {
      this.id = generateId();
      this.pid = recovery ? generateId() : undefined;
    }
  }

  /** The handshake, as socket.io's: built on first read (the same object every time after). */
  get handshake(): Handshake {
    this.builtHandshake ??= buildHandshake(this.client.request, this.auth ?? {}, this.issued);
    return this.builtHandshake;
  }

  private get adapter(): Adapter {
    return this.nsp.adapter;
  }

  /** Pending acks of packets sent to the client, by packet id. */
  get acks(): Map<number, AckCallback> {
    this.pendingAcks ??= new Map();
    return this.pendingAcks;
  }

  /** The flags of the next emit, to set. */
  private get nextFlags(): BroadcastFlags {
    this.flags ??= {};
    return this.flags;
  }

  /** Takes the flags of this emit: the next one starts without any. */
  private takeFlags(): BroadcastFlags {
    const flags = this.flags ?? {};
    this.flags = undefined;
    return flags;
  }

  /** Free-form application data; kept across a recovered reconnection and visible to fetchSockets. */
  get data(): SocketData {
    this.socketData ??= {} as SocketData;
    return this.socketData;
  }

  set data(data: SocketData) {
    this.socketData = data;
  }

  get connected(): boolean {
    return this.state === "connected";
  }

  get disconnected(): boolean {
    return this.state !== "connected";
  }

  /**
   * The request that opened the connection, with the fields of Node's IncomingMessage that code
   * written for socket.io reads (`headers` as a plain object with lower-case names, `url`, `method`,
   * `connection.remoteAddress`); the web-standard headers are `socket.conn.request.headers`.
   */
  get request(): SocketRequest {
    const request = this.client.request;
    return {
      headers: request.headers,
      url: request.url,
      method: "GET",
      connection: { remoteAddress: request.address },
      socket: { remoteAddress: request.address },
      _query: request.query,
    };
  }

  /** The engine session under this socket. */
  get conn(): EngineSocket {
    return this.client.conn;
  }

  get rooms(): Set<Room> {
    if (this.state === "connecting") return new Set(this.connecting?.rooms);
    return this.adapter.socketRooms(this.id) ?? new Set();
  }

  /** Send an event to this client; a trailing function is called with the client's ack. */
  override emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    if (RESERVED_EVENTS.has(ev)) throw new Error(`"${String(ev)}" ${ErrorMessages.RESERVED_EVENT}`);
    const data: unknown[] = [ev, ...args];
    const packet: Packet = { type: PacketType.EVENT, nsp: this.nsp.name, data };
    if (typeof data[data.length - 1] === "function") {
      packet.id = this.nsp._nextAckId();
      registerAck(this.acks, packet.id, data.pop() as AckCallback, this.flags?.timeout);
    }
    const flags = this.takeFlags();
    if (this.nsp.server.opts.connectionStateRecovery) {
      // Through the adapter so the packet gets an offset and is kept for a reconnection.
      this.adapter.broadcast(packet, { rooms: new Set([this.id]), except: new Set(), flags });
    } else {
      this.notifyOutgoingListeners(packet);
      this.packet(packet, flags);
    }
    return true;
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

  /** `emit` returning a promise of the ack (rejected on timeout when `timeout()` was used). */
  emitWithAck<Ev extends EventNamesWithAck<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<AckResult<Last<EventParams<EmitEvents, Ev>>>> {
    const withTimeout = this.flags?.timeout !== undefined;
    return new Promise((resolve, reject) => {
      const ack = withTimeout
        ? (err: Error | null, value: AckResult<Last<EventParams<EmitEvents, Ev>>>) =>
            err ? reject(err) : resolve(value)
        : resolve;
      // biome-ignore lint/suspicious/noExplicitAny: the ack is appended to the typed arguments
      (this.emit as (ev: string, ...a: any[]) => boolean)(ev, ...args, ack);
    });
  }

  /** The ack of the next emit fails with "operation has timed out" after `ms`. */
  timeout(
    ms: number,
  ): Socket<ListenEvents, DecorateAcknowledgements<EmitEvents>, ServerSideEvents, SocketData> {
    this.nextFlags.timeout = ms;
    return this as never;
  }

  /** The next emit is dropped if the client cannot take it now. */
  get volatile(): this {
    this.nextFlags.volatile = true;
    return this;
  }

  compress(compress: boolean): this {
    this.nextFlags.compress = compress;
    return this;
  }

  /** The next emit goes to every socket of the namespace except this one. */
  get broadcast(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.newBroadcastOperator();
  }

  /** The next broadcast stays on this node (no cluster forwarding). */
  get local(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.newBroadcastOperator().local;
  }

  /** Broadcast to a room (or rooms), excluding this socket. */
  to(
    room: Room | Room[],
  ): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.newBroadcastOperator(withRooms(undefined, room));
  }

  in(
    room: Room | Room[],
  ): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.to(room);
  }

  except(
    room: Room | Room[],
  ): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.newBroadcastOperator().except(room);
  }

  private newBroadcastOperator(rooms: Set<Room> = new Set()) {
    const flags = this.takeFlags();
    return new BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>(
      this.adapter,
      rooms,
      new Set([this.id]),
      flags,
    );
  }

  join(rooms: Room | Room[]): Promise<void> | void {
    const list = Array.isArray(rooms) ? rooms : [rooms];
    if (this.state === "disconnected") return;
    if (this.state === "connecting") {
      this.connecting ??= {};
      this.connecting.rooms ??= [];
      this.connecting.rooms.push(...list);
      return;
    }
    return this.adapter.addAll(this.id, new Set(list));
  }

  leave(room: Room): Promise<void> | void {
    return this.adapter.del(this.id, room);
  }

  /** Add a per-packet middleware: `(event, next)`; `next(err)` drops the event and emits "error". */
  use(fn: Middleware<Event>): this {
    this.hooks ??= {};
    this.hooks.fns ??= [];
    this.hooks.fns.push(fn);
    return this;
  }

  /**
   * Leave the namespace (the client gets a DISCONNECT); with `close`, close the whole connection
   * and every namespace on it.
   */
  disconnect(close = false): this {
    if (!this.connected) return this;
    if (close) {
      this.client.disconnect();
    } else {
      this.packet({ type: PacketType.DISCONNECT, nsp: this.nsp.name });
      this.onclose(DisconnectReasons.SERVER_NAMESPACE_DISCONNECT);
    }
    return this;
  }

  /** Listen to every incoming event: `(event, ...args)`. */
  onAny(listener: CatchAllListener): this {
    this.incomingListeners().add(listener);
    return this;
  }

  prependAny(listener: CatchAllListener): this {
    this.incomingListeners().prepend(listener);
    return this;
  }

  offAny(listener?: CatchAllListener): this {
    this.hooks?.incoming?.remove(listener);
    return this;
  }

  listenersAny(): CatchAllListener[] {
    return this.hooks?.incoming?.all ?? [];
  }

  /** Watch every outgoing event (turns the native fan-out of this namespace off while set). */
  onAnyOutgoing(listener: CatchAllListener): this {
    this.outgoingListeners().add(listener);
    return this;
  }

  prependAnyOutgoing(listener: CatchAllListener): this {
    this.outgoingListeners().prepend(listener);
    return this;
  }

  offAnyOutgoing(listener?: CatchAllListener): this {
    this.hooks?.outgoing?.remove(listener);
    return this;
  }

  listenersAnyOutgoing(): CatchAllListener[] {
    return this.hooks?.outgoing?.all ?? [];
  }

  private incomingListeners(): CatchAllListeners {
    this.hooks ??= {};
    this.hooks.incoming ??= new CatchAllListeners();
    return this.hooks.incoming;
  }

  private outgoingListeners(): CatchAllListeners {
    this.hooks ??= {};
    this.hooks.outgoing ??= new CatchAllListeners((active) => {
      this.nsp._outgoingWatchers += active ? 1 : -1;
    });
    return this.hooks.outgoing;
  }

  /** Called by adapters for each packet sent to this socket. */
  notifyOutgoingListeners(packet: Packet): void {
    const outgoing = this.hooks?.outgoing;
    if (!outgoing?.active) return;
    const [event, ...args] = packet.data as [string, ...unknown[]];
    outgoing.call(this, event, args);
  }

  /** Write a packet of this namespace to the connection. */
  packet(packet: Packet, flags?: BroadcastFlags): void {
    packet.nsp = this.nsp.name;
    this.client.writePacket(packet, writeOptions(flags));
  }

  /** @internal Connected to the namespace: join rooms, answer CONNECT, replay missed packets. */
  _onconnect(): void {
    this.state = "connected";
    const connecting = this.connecting;
    this.connecting = undefined;
    const pendingRooms = connecting?.rooms;
    const rooms = new Set(pendingRooms ? [this.id, ...pendingRooms] : [this.id]);
    // runHook's work without its closure: every connect passes here (see callRoomListeners).
    let added: unknown;
    try {
      added = this.adapter.addAll(this.id, rooms);
    } catch (thrown) {
      log.error(ADD_ALL_FAILED, { sid: this.id, nsp: this.nsp.name, error: asError(thrown) });
    }
    if (added !== undefined) watchResult(log, ADD_ALL_FAILED, { sid: this.id, nsp: this.nsp.name }, added);
    this.packet({
      type: PacketType.CONNECT,
      nsp: this.nsp.name,
      data: this.pid === undefined ? { sid: this.id } : { sid: this.id, pid: this.pid },
    });
    const missed = connecting?.missedPackets;
    if (missed) for (const data of missed) this.packet({ type: PacketType.EVENT, nsp: this.nsp.name, data });
  }

  /** @internal A decoded packet for this namespace. */
  _onpacket(packet: Packet): void {
    switch (packet.type) {
      case PacketType.EVENT:
      case PacketType.BINARY_EVENT:
        this.onevent(packet);
        break;
      case PacketType.ACK:
      case PacketType.BINARY_ACK:
        this.onack(packet);
        break;
      case PacketType.DISCONNECT:
        this.onclose(DisconnectReasons.CLIENT_NAMESPACE_DISCONNECT);
        break;
    }
  }

  private onevent(packet: Packet): void {
    const args = (packet.data ?? []) as Event;
    const id = packet.id;
    if (id !== undefined) {
      // The listener's answer, usable once.
      args.push(once((data) => this.packet({ type: PacketType.ACK, nsp: this.nsp.name, id, data })));
    }
    const hooks = this.hooks;
    if (hooks?.incoming?.active) hooks.incoming.call(this, args[0], args.slice(1));
    if (hooks?.fns === undefined) {
      this.emitPacketArgs(args);
      return;
    }
    runMiddlewares(
      hooks.fns,
      args,
      (err) => {
        if (err) this.onerror(err);
        else if (this.connected) this.emitUntyped(...args);
      },
      log,
    );
  }

  private onack(packet: Packet): void {
    if (packet.id === undefined) return;
    const acks = this.pendingAcks;
    const ack = acks?.get(packet.id);
    if (!acks || !ack) return;
    acks.delete(packet.id);
    const args = (packet.data ?? []) as unknown[];
    runHook(log, "ack callback failed", { sid: this.id, nsp: this.nsp.name }, () => ack.apply(this, args));
  }

  /** @internal An error for this socket: a middleware refusal or a parse error. */
  onerror(err: MiddlewareError): void {
    if (this.listenerCount("error") > 0) this.emitReserved("error", err);
    else log.warn("unhandled socket error", { sid: this.id, nsp: this.nsp.name, error: err });
  }

  /** @internal Tell the client it may not connect (middleware refusal). */
  _error(data: { message: string; data?: unknown }): void {
    this.packet({ type: PacketType.CONNECT_ERROR, nsp: this.nsp.name, data });
  }

  /** @internal The socket leaves the namespace for `reason`. */
  onclose(reason: DisconnectReason, description?: unknown): void {
    if (!this.connected) return;
    this.emitReserved("disconnecting", reason, description);
    if (
      this.nsp.server.opts.connectionStateRecovery &&
      RECOVERABLE_DISCONNECT_REASONS.has(reason) &&
      this.pid
    ) {
      const session = { sid: this.id, pid: this.pid, rooms: [...this.rooms], data: this.data };
      runHook(log, "adapter persistSession failed", { sid: this.id, nsp: this.nsp.name }, () =>
        this.adapter.persistSession(session),
      );
    }
    this._cleanup();
    this.client.remove(this);
    this.emitReserved("disconnect", reason, description);
  }

  /** @internal Leave every room and the namespace. */
  _cleanup(): void {
    this.state = "disconnected";
    runHook(log, "adapter delAll failed", { sid: this.id, nsp: this.nsp.name }, () =>
      this.adapter.delAll(this.id),
    );
    this.hooks?.outgoing?.remove();
    this.nsp._remove(this);
  }
}
