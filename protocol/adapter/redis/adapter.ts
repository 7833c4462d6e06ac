/**
 * The Redis cluster adapter of one namespace: the in-memory adapter for this node's sockets, plus
 * the protocol of `@socket.io/redis-adapter` 8.x to reach every other node (Switchboard or the
 * official socket.io server) and the official emitter. Wire format: wire.ts and codec.ts.
 *
 * Local first: every operation acts on this node's sockets at once, then tells the cluster, so a
 * node without Redis keeps serving its own clients. Messages this node published come back to it
 * through Redis and are recognised by its uid (or request id) and dropped.
 *
 * With connection-state recovery on (the server's `connectionStateRecovery`), sessions and
 * recoverable broadcasts are kept in Redis (recovery.ts): a recoverable broadcast is logged and
 * published by one script on the namespace channel, and every node, this one included, delivers
 * it when it comes back from Redis, so every node delivers the namespace's broadcasts in log order.
 */
import { randomBytes } from "node:crypto";
import { createLogger } from "../../logger.ts";
import { Adapter } from "../adapter.ts";
import { ClusterRecovery } from "../cluster/recovery.ts";
import type { AnySocket } from "../host.ts";
import type { BroadcastOptions, Packet, Room, Session, SessionToPersist, SocketId } from "../types.ts";
import {
  decodeBroadcast,
  decodeRequest,
  decodeResponse,
  encodeBroadcast,
  encodeRequest,
  encodeResponse,
  MalformedMessageError,
} from "./codec.ts";
import type { RedisLink } from "./link.ts";
import {
  isRecoverable,
  RedisRecoveryStore,
  recoveryPlaceholder,
  splitAtPlaceholder,
  streamIdOrder,
} from "./recovery.ts";
import { ClusterTimeoutError, PendingRequests } from "./requests.ts";
import {
  type BroadcastSubscription,
  createBroadcastSubscription,
  type SubscriptionMode,
} from "./subscriptions.ts";
import {
  broadcastChannel,
  type Channels,
  channelsFor,
  DEFAULT_KEY_PREFIX,
  RequestType,
  roomOfChannel,
  type WireOptions,
  type WireRequest,
  type WireResponse,
  type WireSocket,
} from "./wire.ts";

const log = createLogger("adapter:redis");

export interface RedisAdapterOptions {
  /** Channel prefix, as the official adapter's `key`. Default "socket.io". */
  key?: string;
  /** Deadline of a cluster request (fetchSockets, allRooms, serverSideEmit with ack), in ms. Default 5000. */
  requestsTimeout?: number;
  /**
   * Publish responses on the requester's own channel instead of the shared one (the official
   * option of the same name; every node of the cluster must agree). Default false.
   */
  publishOnSpecificResponseChannel?: boolean;
  /** How broadcast channels are read: see subscriptions.ts. Default "rooms". */
  subscriptionMode?: SubscriptionMode;
}

export const REDIS_ADAPTER_DEFAULTS = {
  key: DEFAULT_KEY_PREFIX,
  requestsTimeout: 5000,
  publishOnSpecificResponseChannel: false,
  subscriptionMode: "rooms",
} as const satisfies Required<RedisAdapterOptions>;

/** What the adapter needs of a socket of its namespace. */
interface LocalSocket {
  id: SocketId;
  handshake: Record<string, unknown>;
  rooms: Set<Room>;
  data: unknown;
  join(rooms: Room | Room[]): unknown;
  leave(room: Room): unknown;
  disconnect(close?: boolean): unknown;
}

/** What the adapter needs of its namespace. */
interface NamespaceLike {
  name: string;
  sockets: Map<SocketId, LocalSocket>;
  _onServerSideEmit(args: unknown[]): void;
}

/** A socket of another node, as `fetchSockets` returns it (socket.io wraps it in a RemoteSocket). */
export type RemoteSocketDetails = WireSocket;

type Ack = (...args: unknown[]) => void;

const randomId = (): string => randomBytes(8).toString("hex");

/** Malformed traffic is logged at most once per interval, with how many were suppressed. */
const MALFORMED_LOG_INTERVAL_MS = 5000;

export class RedisAdapter extends Adapter {
  readonly uid = randomId();
  private readonly opts: Required<RedisAdapterOptions>;
  private readonly channels: Channels;
  private readonly requests = new PendingRequests(() => this.link.counters.requestTimeouts++);
  /** Broadcasts with acks this node started: per request, where counts and acks go. */
  private readonly ackRequests = new Map<string, { clientCount: (n: number) => void; ack: Ack }>();
  private readonly subscription: BroadcastSubscription;
  /** Resolves once the namespace channel is subscribed: recoverable broadcasts and restores wait for it. */
  private readonly subscribed: Promise<void>;
  /** Set when the server has connection-state recovery on. */
  private readonly recovery: { store: RedisRecoveryStore; state: ClusterRecovery } | undefined;
  private lastMalformedLog = 0;
  private suppressedMalformed = 0;
  private closed = false;

  constructor(
    nsp: ConstructorParameters<typeof Adapter>[0],
    private readonly link: RedisLink,
    options: RedisAdapterOptions = {},
  ) {
    super(nsp);
    this.opts = { ...REDIS_ADAPTER_DEFAULTS, ...definedOnly(options) };
    this.channels = channelsFor(this.namespace.name, this.uid, this.opts.key);
    this.subscription = createBroadcastSubscription(
      this.opts.subscriptionMode,
      link,
      this.channels,
      (msg, channel) => this.onBroadcastMessage(msg, channel),
    );
    this.subscribed = this.subscription.open();
    const recovery = this.nsp.server.opts.connectionStateRecovery;
    if (recovery) {
      const window = recovery.maxDisconnectionDuration;
      const store = new RedisRecoveryStore(
        { evalScript: (script, keys, args) => link.evalScript(script, keys, args) },
        {
          channel: this.channels.broadcast,
          publishCommand: "PUBLISH",
          window,
          maxEntries: recovery.maxStoredPackets,
          decode: (bytes) => {
            const [, packet, opts] = decodeBroadcast(bytes);
            return {
              data: packet.data as unknown[],
              rooms: opts.rooms.map(String),
              except: (opts.except ?? []).map(String),
            };
          },
        },
      );
      const state = new ClusterRecovery(
        this,
        store,
        streamIdOrder,
        link.recoveryCounters,
        { channel: this.channels.broadcast },
        window,
      );
      this.recovery = { store, state };
    }
    link.subscribe(
      [this.channels.request, this.channels.response, this.channels.specificResponse],
      (msg, channel) => this.onRequestChannel(msg, channel),
    );
    this.on("delete-room", (room: Room) => this.subscription.roomDeleted(room));
  }

  private get namespace(): NamespaceLike {
    return this.nsp as unknown as NamespaceLike;
  }

  // ── membership: a new room's channel is subscribed before `join` resolves ───────────────────────

  override addAll(id: SocketId, rooms: Set<Room>): Promise<void> | void {
    const created = [...rooms].filter((room) => !this.rooms.has(room));
    super.addAll(id, rooms);
    this.recovery?.state.joined(id);
    if (created.length === 0) return;
    return Promise.all(created.map((room) => this.subscription.roomCreated(room))).then(() => {});
  }

  // ── broadcast ───────────────────────────────────────────────────────────────────────────────────

  override broadcast(packet: Packet, opts: BroadcastOptions): void {
    packet.nsp = this.namespace.name;
    if (this.recovery && !opts.flags?.local && isRecoverable(packet, opts)) {
      this.broadcastRecoverable(packet, opts, this.recovery.store);
      return;
    }
    if (!opts.flags?.local) {
      const wireOpts = toWireOptions(opts);
      const message = encodeBroadcast([this.uid, packet, wireOpts]);
      void this.link.publish(broadcastChannel(this.channels, wireOpts.rooms), message);
    }
    super.broadcast(packet, opts);
  }

  /**
   * Logs and publishes on the namespace channel (one script), whatever the rooms, so that every
   * node reads the namespace's recoverable broadcasts in one order; delivered here when it comes
   * back. When Redis does not take it, it is delivered to this node's sockets only, unlogged.
   */
  private broadcastRecoverable(packet: Packet, opts: BroadcastOptions, store: RedisRecoveryStore): void {
    const placeholder = recoveryPlaceholder();
    const withPlaceholder = { ...packet, data: [...(packet.data as unknown[]), placeholder] };
    const encoded = encodeBroadcast([this.uid, withPlaceholder, toWireOptions(opts)]);
    const parts = splitAtPlaceholder(encoded, placeholder, "msgpack");
    // Not before this node listens on the namespace channel: it delivers what comes back from there.
    // Every broadcast waits for the same promise, so they still reach Redis in the order made.
    const appended = this.subscribed.then(() =>
      parts ? store.append(parts[0], parts[1], "msgpack") : Promise.reject(new Error("no placeholder")),
    );
    appended.then(
      () => this.link.counters.published++,
      (err: unknown) => {
        this.link.counters.publishFailed++;
        log.warn("broadcast not logged for recovery: delivered on this node only", {
          channel: this.channels.broadcast,
          err,
        });
        super.broadcast(packet, opts);
      },
    );
  }

  override persistSession(session: SessionToPersist): void {
    this.recovery?.state.persist(session);
  }

  override async restoreSession(pid: string, offset: string): Promise<Session | null> {
    if (!this.recovery) return null;
    await this.subscribed;
    return this.recovery.state.restore(pid, offset);
  }

  override delAll(id: SocketId): void {
    this.recovery?.state.left(id);
    super.delAll(id);
  }

  override broadcastWithAck(
    packet: Packet,
    opts: BroadcastOptions,
    clientCountCallback: (n: number) => void,
    ack: Ack,
  ): void {
    packet.nsp = this.namespace.name;
    if (!opts.flags?.local) {
      const requestId = randomId();
      this.ackRequests.set(requestId, { clientCount: clientCountCallback, ack });
      const request: WireRequest = {
        uid: this.uid,
        requestId,
        type: RequestType.BROADCAST,
        packet,
        opts: toWireOptions(opts),
      };
      void this.link.publish(this.channels.request, encodeRequest(request));
      // Nothing tells this node when the last client ack arrived: forget the request at the deadline.
      setTimeout(
        () => this.ackRequests.delete(requestId),
        opts.flags?.timeout ?? this.opts.requestsTimeout,
      ).unref?.();
    }
    super.broadcastWithAck(packet, opts, clientCountCallback, ack);
  }

  // ── cluster-wide operations ─────────────────────────────────────────────────────────────────────

  /** Number of nodes serving this namespace (subscribers of its request channel); 1 without Redis. */
  override async serverCount(): Promise<number> {
    const count = await this.link.numsub(this.channels.request);
    return Math.max(1, count ?? 1);
  }

  /** Every room of the namespace across the cluster. Rejects with partial rooms at the deadline. */
  async allRooms(): Promise<Set<Room>> {
    const rooms = new Set(this.rooms.keys());
    return this.ask<Set<Room>>("allRooms", { type: RequestType.ALL_ROOMS }, rooms, (answer) => {
      for (const room of (answer as WireResponse).rooms ?? []) rooms.add(String(room));
    });
  }

  /**
   * Local sockets, then the other nodes' as plain RemoteSocketDetails (the Socket.IO layer wraps
   * them in RemoteSocket); the base signature only names local sockets, hence the cast.
   */
  override async fetchSockets(opts: BroadcastOptions): Promise<AnySocket[]> {
    const local = await super.fetchSockets(opts);
    if (opts.flags?.local) return local;
    const all: (AnySocket | RemoteSocketDetails)[] = [...local];
    const request: WireRequest = {
      type: RequestType.REMOTE_FETCH,
      opts: { rooms: [...opts.rooms], except: [...(opts.except ?? [])] },
    };
    return this.ask(
      "fetchSockets",
      request,
      all,
      (answer) => {
        const sockets = (answer as WireResponse).sockets;
        if (Array.isArray(sockets)) for (const s of sockets) if (isWireSocket(s)) all.push(s);
      },
      opts.flags?.timeout,
    ) as Promise<AnySocket[]>;
  }

  override addSockets(opts: BroadcastOptions, rooms: Room[]): void {
    if (!opts.flags?.local)
      this.tell({ type: RequestType.REMOTE_JOIN, opts: toWireOptions(opts, false), rooms });
    super.addSockets(opts, rooms);
  }

  override delSockets(opts: BroadcastOptions, rooms: Room[]): void {
    if (!opts.flags?.local)
      this.tell({ type: RequestType.REMOTE_LEAVE, opts: toWireOptions(opts, false), rooms });
    super.delSockets(opts, rooms);
  }

  override disconnectSockets(opts: BroadcastOptions, close: boolean): void {
    if (!opts.flags?.local)
      this.tell({ type: RequestType.REMOTE_DISCONNECT, opts: toWireOptions(opts, false), close });
    super.disconnectSockets(opts, close);
  }

  /**
   * Emits to the other nodes' `serverSideEmit` listeners. With an ack as last argument, the ack
   * gets `(err, responses)`: one response per node, or a ClusterTimeoutError and the partial list.
   */
  override serverSideEmit(packet: unknown[]): void {
    const last = packet[packet.length - 1];
    if (typeof last !== "function") {
      this.tell({ type: RequestType.SERVER_SIDE_EMIT, data: packet });
      return;
    }
    const ack = last as Ack;
    const data = packet.slice(0, -1);
    const responses: unknown[] = [];
    this.serverCount()
      .then((count) => {
        const expected = count - 1;
        if (expected <= 0) return ack(null, responses);
        const requestId = randomId();
        this.requests.add(
          requestId,
          "serverSideEmit",
          expected,
          0,
          this.opts.requestsTimeout,
          (answer) => responses.push((answer as WireResponse).data),
          (timedOut, received) =>
            ack(
              timedOut ? new ClusterTimeoutError("serverSideEmit", responses, received, expected) : null,
              responses,
            ),
        );
        void this.publishRequest({ uid: this.uid, requestId, type: RequestType.SERVER_SIDE_EMIT, data });
      })
      .catch((err: unknown) => log.warn("serverSideEmit failed", { err }));
  }

  override close(): void {
    if (this.closed) return;
    this.closed = true;
    this.recovery?.state.close();
    this.subscription.close();
    for (const room of this.rooms.keys()) this.subscription.roomDeleted(room);
    this.link.unsubscribe([this.channels.request, this.channels.response, this.channels.specificResponse]);
    this.requests.clear();
    this.ackRequests.clear();
    super.close();
  }

  // ── requests this node sends ────────────────────────────────────────────────────────────────────

  /** Fire-and-forget request (no answer expected). */
  private tell(request: WireRequest): void {
    void this.publishRequest({ uid: this.uid, ...request });
  }

  private publishRequest(request: WireRequest): Promise<boolean> {
    return this.link.publish(this.channels.request, encodeRequest(request));
  }

  /**
   * Sends a request every other node answers once; `result` is filled by `collect` and resolved
   * when all answered, or rejected with a ClusterTimeoutError carrying it at the deadline.
   */
  private async ask<T>(
    operation: string,
    request: WireRequest,
    result: T,
    collect: (answer: unknown) => void,
    timeoutMs?: number,
  ): Promise<T> {
    const expected = await this.serverCount();
    if (expected <= 1) return result;
    const requestId = randomId();
    return new Promise<T>((resolve, reject) => {
      this.requests.add(
        requestId,
        operation,
        expected,
        1,
        timeoutMs ?? this.opts.requestsTimeout,
        collect,
        (timedOut, received) =>
          timedOut ? reject(new ClusterTimeoutError(operation, result, received, expected)) : resolve(result),
      );
      void this.publishRequest({ ...request, uid: this.uid, requestId }).then((sent) => {
        if (!sent) log.warn(`${operation}: request not sent, Redis is unavailable`);
      });
    });
  }

  // ── messages from the cluster ───────────────────────────────────────────────────────────────────

  private onBroadcastMessage(bytes: Buffer, channel: string): void {
    const room = roomOfChannel(this.channels, channel);
    if (room === null) return;
    // In pattern mode every room's traffic arrives: drop what no local socket can receive, undecoded.
    if (room !== "" && !this.rooms.has(room)) return;
    const message = this.decodeOrReport(() => decodeBroadcast(bytes), channel);
    if (!message) return;
    const [uid, packet, wireOpts] = message;
    if (packet.nsp !== this.namespace.name) return;
    const opts = fromWireOptions(wireOpts);
    const recovery = this.recovery?.state;
    if (recovery && isRecoverable(packet as Packet, opts)) {
      // This node's own recoverable broadcasts are delivered here too, in the log's order.
      super.broadcast(packet as Packet, recovery.live(packet.data as unknown[], opts));
      return;
    }
    if (uid === this.uid) return;
    super.broadcast(packet as Packet, opts);
  }

  private onRequestChannel(bytes: Buffer, channel: string): void {
    if (channel === this.channels.request) {
      const request = this.decodeOrReport(() => decodeRequest(bytes), channel);
      if (request)
        this.onRequest(request).catch((err: unknown) =>
          log.warn("cluster request failed", { type: request.type, err }),
        );
      return;
    }
    const response = this.decodeOrReport(() => decodeResponse(bytes), channel);
    if (response) this.onResponse(response);
  }

  private async onRequest(request: WireRequest): Promise<void> {
    // Requests this node sent come back through Redis: it already acted locally.
    if (request.uid === this.uid) return;
    switch (request.type) {
      case RequestType.SOCKETS: {
        const sockets = await super.sockets(new Set(request.rooms ?? []));
        return this.respond(request, { requestId: String(request.requestId), sockets: [...sockets] });
      }
      case RequestType.ALL_ROOMS:
        return this.respond(request, { requestId: String(request.requestId), rooms: [...this.rooms.keys()] });
      case RequestType.REMOTE_JOIN:
        if (request.opts) return super.addSockets(fromWireOptions(request.opts), request.rooms ?? []);
        return this.onSingleSocket(request, (socket) => socket.join(String(request.room)));
      case RequestType.REMOTE_LEAVE:
        if (request.opts) return super.delSockets(fromWireOptions(request.opts), request.rooms ?? []);
        return this.onSingleSocket(request, (socket) => socket.leave(String(request.room)));
      case RequestType.REMOTE_DISCONNECT:
        if (request.opts)
          return super.disconnectSockets(fromWireOptions(request.opts), request.close === true);
        return this.onSingleSocket(request, (socket) => socket.disconnect(request.close === true));
      case RequestType.REMOTE_FETCH: {
        const opts = fromWireOptions(request.opts ?? { rooms: [], except: [] });
        const sockets = (await super.fetchSockets(opts)) as unknown as LocalSocket[];
        return this.respond(request, {
          requestId: String(request.requestId),
          sockets: sockets.map(toWireSocket),
        });
      }
      case RequestType.SERVER_SIDE_EMIT:
        return this.onServerSideEmit(request);
      case RequestType.BROADCAST:
        return this.onBroadcastWithAck(request);
      default:
        // Response types on the request channel: foreign traffic, ignored.
        log.debug("ignoring request of unexpected type", { type: request.type });
    }
  }

  private onSingleSocket(request: WireRequest, act: (socket: LocalSocket) => unknown): void {
    const socket = request.sid === undefined ? undefined : this.namespace.sockets.get(request.sid);
    if (!socket) return;
    act(socket);
    this.respond(request, { requestId: String(request.requestId) });
  }

  private onServerSideEmit(request: WireRequest): void {
    const data = request.data ?? [];
    if (request.requestId === undefined) {
      this.namespace._onServerSideEmit(data);
      return;
    }
    let called = false;
    const callback = (arg: unknown) => {
      if (called) return; // one answer per node, as the official adapter
      called = true;
      // Official nodes always answer serverSideEmit on the shared response channel.
      const response: WireResponse = {
        type: RequestType.SERVER_SIDE_EMIT,
        requestId: String(request.requestId),
        data: arg,
      };
      void this.link.publish(this.channels.response, encodeResponse(response));
    };
    this.namespace._onServerSideEmit([...data, callback]);
  }

  private onBroadcastWithAck(request: WireRequest): void {
    if (!request.packet || !request.opts || request.requestId === undefined) return;
    const requestId = String(request.requestId);
    if (request.packet.nsp !== this.namespace.name) return;
    super.broadcastWithAck(
      request.packet as Packet,
      fromWireOptions(request.opts),
      (clientCount) =>
        this.respond(request, { type: RequestType.BROADCAST_CLIENT_COUNT, requestId, clientCount }),
      (arg) => this.respond(request, { type: RequestType.BROADCAST_ACK, requestId, packet: arg }),
    );
  }

  private respond(request: WireRequest, response: WireResponse): void {
    const channel =
      this.opts.publishOnSpecificResponseChannel && request.uid
        ? this.channels.responseFor(request.uid)
        : this.channels.response;
    void this.link.publish(channel, encodeResponse(response));
  }

  private onResponse(response: WireResponse): void {
    const ackRequest = this.ackRequests.get(response.requestId);
    if (ackRequest) {
      if (response.type === RequestType.BROADCAST_CLIENT_COUNT)
        ackRequest.clientCount(Number(response.clientCount ?? 0));
      else if (response.type === RequestType.BROADCAST_ACK) ackRequest.ack(response.packet);
      return;
    }
    // Answers to other nodes' requests share the channel: unknown ids are simply not ours.
    this.requests.answer(response.requestId, response);
  }

  private decodeOrReport<T>(decode: () => T, channel: string): T | null {
    try {
      return decode();
    } catch (err) {
      if (!(err instanceof MalformedMessageError)) throw err;
      this.link.counters.malformed++;
      const now = Date.now();
      if (now - this.lastMalformedLog >= MALFORMED_LOG_INTERVAL_MS) {
        log.warn("ignoring malformed message from Redis", {
          channel,
          reason: err.reason,
          suppressed: this.suppressedMalformed,
        });
        this.lastMalformedLog = now;
        this.suppressedMalformed = 0;
      } else {
        this.suppressedMalformed++;
      }
      return null;
    }
  }
}

function toWireOptions(opts: BroadcastOptions, withFlags = true): WireOptions {
  const wire: WireOptions = { rooms: [...opts.rooms], except: [...new Set(opts.except ?? [])] };
  if (withFlags) wire.flags = opts.flags ?? {};
  return wire;
}

function fromWireOptions(opts: WireOptions): BroadcastOptions {
  return { rooms: new Set(opts.rooms), except: new Set(opts.except), flags: opts.flags ?? {} };
}

function toWireSocket(socket: LocalSocket): WireSocket {
  // sessionStore (express-session) may hold circular references: the official adapter strips it too.
  const { sessionStore: _omit, ...handshake } = socket.handshake;
  return { id: socket.id, handshake, rooms: [...socket.rooms], data: socket.data };
}

function isWireSocket(value: unknown): value is WireSocket {
  return typeof value === "object" && value !== null && typeof (value as WireSocket).id === "string";
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
