/**
 * A cluster adapter speaking socket.io-adapter's `ClusterAdapterWithHeartbeat` protocol (see
 * messages.ts): the in-memory adapter for this node's sockets, plus messages to every other node
 * through a transport the subclass provides (`doPublish`, `doPublishResponse`), which hands what it
 * receives to `onMessage`.
 *
 * Node counting is by heartbeat, as the official adapter: a node announces itself on start
 * (INITIAL_HEARTBEAT, answered by everyone), publishes a HEARTBEAT after `heartbeatInterval` of
 * silence, says goodbye on close (ADAPTER_CLOSE), and is forgotten after `heartbeatTimeout` without
 * a word. A request waits for an answer from each node known when it was sent; a node that leaves
 * meanwhile is not waited for.
 *
 * Local first: every operation acts on this node's sockets at once, then tells the cluster.
 */
import { randomBytes } from "node:crypto";
import { createLogger } from "../../logger.ts";
import { Adapter } from "../adapter.ts";
import type { AnyNamespace, AnySocket } from "../host.ts";
import { ClusterTimeoutError } from "../redis/requests.ts";
import type { BroadcastOptions, Packet, Room, SocketId } from "../types.ts";
import {
  type ClusterMessage,
  EMITTER_UID,
  type MessageData,
  MessageType,
  type WireOptions,
  type WirePacket,
  type WireSocket,
} from "./messages.ts";

const log = createLogger("adapter:cluster");

export interface ClusterAdapterOptions {
  /** Silence after which a node publishes a heartbeat, in ms. Default 5000 (as the official adapter). */
  heartbeatInterval?: number;
  /** A node not heard from for this long is no longer counted, in ms. Default 10000. */
  heartbeatTimeout?: number;
  /** Deadline of fetchSockets and serverSideEmit with ack, in ms. Default 5000. */
  requestsTimeout?: number;
  /**
   * Count nodes by heartbeats (socket.io-adapter's `ClusterAdapterWithHeartbeat`, the Postgres
   * adapter). False: the subclass counts them (`serverCount`, e.g. Redis `PUBSUB SHARDNUMSUB` for
   * the sharded adapter, socket.io-adapter's plain `ClusterAdapter`), and no heartbeat is sent.
   * Default true.
   */
  heartbeats?: boolean;
}

export const CLUSTER_ADAPTER_DEFAULTS = {
  heartbeatInterval: 5000,
  heartbeatTimeout: 10_000,
  requestsTimeout: 5000,
  heartbeats: true,
} as const satisfies Required<ClusterAdapterOptions>;

/** How often nodes that went silent are dropped. */
const NODE_SWEEP_INTERVAL_MS = 1000;

type Ack = (...args: unknown[]) => void;

interface PendingRequest {
  type: typeof MessageType.FETCH_SOCKETS | typeof MessageType.SERVER_SIDE_EMIT;
  /** Nodes that have not answered yet (heartbeats), or null when only their number is known. */
  missing: Set<string> | null;
  /** Answers still expected. */
  remaining: number;
  expected: number;
  responses: unknown[];
  timer: ReturnType<typeof setTimeout>;
  finish(timedOut: boolean): void;
}

/** What the adapter needs of a socket of its namespace. */
interface LocalSocket {
  id: SocketId;
  handshake: Record<string, unknown>;
  rooms: Set<Room>;
  data: unknown;
}

const randomId = (): string => randomBytes(8).toString("hex");

export abstract class ClusterAdapter extends Adapter {
  readonly uid = randomId();
  protected readonly clusterOptions: Required<ClusterAdapterOptions>;
  /** Other nodes serving this namespace: uid → when last heard from. */
  private readonly nodes = new Map<string, number>();
  private readonly requests = new Map<string, PendingRequest>();
  /** Broadcasts with acks this node started: where remote counts and acks go. */
  private readonly ackRequests = new Map<string, { clientCount: (n: number) => void; ack: Ack }>();
  private heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly sweepTimer: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(nsp: AnyNamespace, options: ClusterAdapterOptions = {}) {
    super(nsp);
    this.clusterOptions = { ...CLUSTER_ADAPTER_DEFAULTS, ...definedOnly(options) };
    this.sweepTimer = setInterval(() => this.sweepSilentNodes(Date.now()), NODE_SWEEP_INTERVAL_MS);
    this.sweepTimer.unref?.();
  }

  /** Sends a message to every node of the namespace (itself included is fine: its own uid is dropped). */
  protected abstract doPublish(message: ClusterMessage): Promise<void>;
  /** Sends a response meant for `requesterUid` (a transport may send it to everyone). */
  protected abstract doPublishResponse(requesterUid: string, response: ClusterMessage): Promise<void>;

  /** Called when a cluster request's deadline passed before every node answered (for counters). */
  protected onRequestTimeout(): void {}

  override init(): Promise<void> | void {
    this.announce();
  }

  /** Announces this node again (the transport reconnected and may have missed heartbeats). */
  protected announce(): void {
    if (this.clusterOptions.heartbeats) this.publishMessage(MessageType.INITIAL_HEARTBEAT);
  }

  override close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.clusterOptions.heartbeats) this.publishMessage(MessageType.ADAPTER_CLOSE);
    clearTimeout(this.heartbeatTimer);
    clearInterval(this.sweepTimer);
    for (const [id, request] of this.requests) this.complete(id, request, true);
    this.ackRequests.clear();
    super.close();
  }

  /** This node plus every node heard from within the heartbeat timeout. */
  override serverCount(): Promise<number> {
    return Promise.resolve(1 + this.nodes.size);
  }

  // ── operations this node starts ────────────────────────────────────────────────────────────────

  override broadcast(packet: Packet, opts: BroadcastOptions): void {
    packet.nsp = this.nsp.name;
    if (!opts.flags?.local)
      this.publishMessage(MessageType.BROADCAST, { packet: packet as WirePacket, opts: toWireOptions(opts) });
    super.broadcast(packet, opts);
  }

  override broadcastWithAck(
    packet: Packet,
    opts: BroadcastOptions,
    clientCountCallback: (n: number) => void,
    ack: Ack,
  ): void {
    packet.nsp = this.nsp.name;
    if (!opts.flags?.local) {
      const requestId = randomId();
      this.ackRequests.set(requestId, { clientCount: clientCountCallback, ack });
      // The packet id is set by super.broadcastWithAck: publish after it so every node uses the same.
      super.broadcastWithAck(packet, opts, clientCountCallback, ack);
      this.publishMessage(MessageType.BROADCAST, {
        packet: packet as WirePacket,
        requestId,
        opts: toWireOptions(opts),
      });
      // Nothing tells this node when the last client ack arrived: forget the request at the deadline.
      setTimeout(
        () => this.ackRequests.delete(requestId),
        opts.flags?.timeout ?? this.clusterOptions.requestsTimeout,
      ).unref?.();
      return;
    }
    super.broadcastWithAck(packet, opts, clientCountCallback, ack);
  }

  override addSockets(opts: BroadcastOptions, rooms: Room[]): void {
    if (!opts.flags?.local)
      this.publishMessage(MessageType.SOCKETS_JOIN, { opts: toWireOptions(opts), rooms });
    super.addSockets(opts, rooms);
  }

  override delSockets(opts: BroadcastOptions, rooms: Room[]): void {
    if (!opts.flags?.local)
      this.publishMessage(MessageType.SOCKETS_LEAVE, { opts: toWireOptions(opts), rooms });
    super.delSockets(opts, rooms);
  }

  override disconnectSockets(opts: BroadcastOptions, close: boolean): void {
    if (!opts.flags?.local)
      this.publishMessage(MessageType.DISCONNECT_SOCKETS, { opts: toWireOptions(opts), close });
    super.disconnectSockets(opts, close);
  }

  /**
   * Local sockets, then the other nodes' as plain `{id, handshake, rooms, data}` (the Socket.IO
   * layer wraps them in RemoteSocket). Rejects with a ClusterTimeoutError carrying the partial list
   * when a node does not answer by the deadline.
   */
  override async fetchSockets(opts: BroadcastOptions): Promise<AnySocket[]> {
    const local = await super.fetchSockets(opts);
    if (opts.flags?.local) return local;
    const responders = await this.responders();
    if (responders === 0 || (responders instanceof Set && responders.size === 0)) return local;
    const responses: unknown[] = [...local];
    return new Promise<AnySocket[]>((resolve, reject) => {
      // This node's own answer counts as one received, as in the Redis adapter's errors.
      const requestId = this.track(
        MessageType.FETCH_SOCKETS,
        responders,
        responses,
        opts.flags?.timeout,
        (timedOut, received, expected) =>
          timedOut
            ? reject(new ClusterTimeoutError("fetchSockets", responses, received + 1, expected + 1))
            : resolve(responses as AnySocket[]),
      );
      this.publishMessage(MessageType.FETCH_SOCKETS, { opts: toWireOptions(opts), requestId });
    });
  }

  /**
   * Emits to the other nodes' `serverSideEmit` listeners. With an ack as last argument, the ack
   * gets `(err, responses)`: one response per node, or a ClusterTimeoutError and the partial list.
   */
  override serverSideEmit(packet: unknown[]): void {
    const last = packet[packet.length - 1];
    if (typeof last !== "function") {
      this.publishMessage(MessageType.SERVER_SIDE_EMIT, { packet });
      return;
    }
    void this.serverSideEmitWithAck(packet.slice(0, -1), last as Ack);
  }

  private async serverSideEmitWithAck(data: unknown[], ack: Ack): Promise<void> {
    const responses: unknown[] = [];
    const responders = await this.responders();
    if (responders === 0 || (responders instanceof Set && responders.size === 0)) {
      ack(null, responses);
      return;
    }
    const requestId = this.track(
      MessageType.SERVER_SIDE_EMIT,
      responders,
      responses,
      undefined,
      (timedOut, received, expected) =>
        ack(
          timedOut ? new ClusterTimeoutError("serverSideEmit", responses, received, expected) : null,
          responses,
        ),
    );
    this.publishMessage(MessageType.SERVER_SIDE_EMIT, { requestId, packet: data });
  }

  // ── messages from the cluster ──────────────────────────────────────────────────────────────────

  /** Handles one validated message from the transport (its own are dropped here). */
  protected onMessage(message: ClusterMessage): void {
    if (message.uid === this.uid || message.nsp !== this.nsp.name) return;
    // Every node that speaks is counted; the emitter only publishes, it is never waited for.
    if (message.uid !== EMITTER_UID) this.nodes.set(message.uid, Date.now());
    const data = message.data ?? {};
    switch (message.type) {
      case MessageType.INITIAL_HEARTBEAT:
        this.publishMessage(MessageType.HEARTBEAT);
        break;
      case MessageType.HEARTBEAT:
        break;
      case MessageType.ADAPTER_CLOSE:
        this.removeNode(message.uid);
        break;
      case MessageType.BROADCAST:
        this.onRemoteBroadcast(message.uid, data);
        break;
      case MessageType.SOCKETS_JOIN:
        if (data.opts) super.addSockets(fromWireOptions(data.opts), data.rooms ?? []);
        break;
      case MessageType.SOCKETS_LEAVE:
        if (data.opts) super.delSockets(fromWireOptions(data.opts), data.rooms ?? []);
        break;
      case MessageType.DISCONNECT_SOCKETS:
        if (data.opts) super.disconnectSockets(fromWireOptions(data.opts), data.close === true);
        break;
      case MessageType.FETCH_SOCKETS:
        void this.onFetchSockets(message.uid, data);
        break;
      case MessageType.SERVER_SIDE_EMIT:
        this.onServerSideEmit(message.uid, data);
        break;
      case MessageType.FETCH_SOCKETS_RESPONSE:
      case MessageType.SERVER_SIDE_EMIT_RESPONSE:
      case MessageType.BROADCAST_CLIENT_COUNT:
      case MessageType.BROADCAST_ACK:
        this.onResponse(message);
        break;
    }
  }

  /** Delivers another node's broadcast to this node's sockets (a subclass may filter receivers). */
  protected deliverRemoteBroadcast(packet: Packet, opts: BroadcastOptions): void {
    super.broadcast(packet, opts);
  }

  private onRemoteBroadcast(requesterUid: string, data: MessageData): void {
    const packet = data.packet as Packet;
    const opts = fromWireOptions(data.opts ?? { rooms: [], except: [] });
    const requestId = data.requestId;
    if (requestId === undefined) {
      this.deliverRemoteBroadcast(packet, opts);
      return;
    }
    super.broadcastWithAck(
      packet,
      opts,
      (clientCount) =>
        this.publishResponse(requesterUid, MessageType.BROADCAST_CLIENT_COUNT, { requestId, clientCount }),
      (arg) => this.publishResponse(requesterUid, MessageType.BROADCAST_ACK, { requestId, packet: arg }),
    );
  }

  private async onFetchSockets(requesterUid: string, data: MessageData): Promise<void> {
    if (data.requestId === undefined) return;
    const opts = fromWireOptions(data.opts ?? { rooms: [], except: [] });
    opts.flags = { local: true };
    const sockets = (await super.fetchSockets(opts)) as unknown as LocalSocket[];
    this.publishResponse(requesterUid, MessageType.FETCH_SOCKETS_RESPONSE, {
      requestId: data.requestId,
      sockets: sockets.map(toWireSocket),
    });
  }

  private onServerSideEmit(requesterUid: string, data: MessageData): void {
    const args = data.packet as unknown[];
    const requestId = data.requestId;
    const nsp = this.nsp as unknown as { _onServerSideEmit(args: unknown[]): void };
    if (requestId === undefined) {
      nsp._onServerSideEmit(args);
      return;
    }
    let called = false;
    const callback = (arg: unknown) => {
      if (called) return; // one answer per node, as the official adapter
      called = true;
      this.publishResponse(requesterUid, MessageType.SERVER_SIDE_EMIT_RESPONSE, { requestId, packet: arg });
    };
    nsp._onServerSideEmit([...args, callback]);
  }

  private onResponse(message: ClusterMessage): void {
    const data = message.data ?? {};
    const requestId = data.requestId;
    if (requestId === undefined) return;
    if (message.type === MessageType.BROADCAST_CLIENT_COUNT || message.type === MessageType.BROADCAST_ACK) {
      const ackRequest = this.ackRequests.get(requestId);
      if (message.type === MessageType.BROADCAST_CLIENT_COUNT) ackRequest?.clientCount(data.clientCount ?? 0);
      else ackRequest?.ack(data.packet);
      return;
    }
    const request = this.requests.get(requestId);
    // Answers to other nodes' requests may share the channel: unknown ids are simply not ours.
    if (!request || (request.missing !== null && !request.missing.delete(message.uid))) return;
    request.remaining--;
    if (message.type === MessageType.FETCH_SOCKETS_RESPONSE) request.responses.push(...(data.sockets ?? []));
    else request.responses.push(data.packet);
    if (request.remaining <= 0) this.complete(requestId, request, false);
  }

  // ── bookkeeping ────────────────────────────────────────────────────────────────────────────────

  /** Who must answer a request: the nodes heard from (heartbeats), or how many there are. */
  private async responders(): Promise<Set<string> | number> {
    if (this.clusterOptions.heartbeats) return new Set(this.nodes.keys());
    return Math.max(0, (await this.serverCount()) - 1);
  }

  private track(
    type: PendingRequest["type"],
    responders: Set<string> | number,
    responses: unknown[],
    timeoutMs: number | undefined,
    finish: (timedOut: boolean, received: number, expected: number) => void,
  ): string {
    const requestId = randomId();
    const missing = responders instanceof Set ? responders : null;
    const expected = missing?.size ?? (responders as number);
    const request: PendingRequest = {
      type,
      missing,
      remaining: expected,
      expected,
      responses,
      timer: setTimeout(() => {
        this.onRequestTimeout();
        this.complete(requestId, request, true);
      }, timeoutMs ?? this.clusterOptions.requestsTimeout),
      finish: (timedOut) => finish(timedOut, request.expected - request.remaining, request.expected),
    };
    this.requests.set(requestId, request);
    return requestId;
  }

  private complete(requestId: string, request: PendingRequest, timedOut: boolean): void {
    clearTimeout(request.timer);
    this.requests.delete(requestId);
    request.finish(timedOut);
  }

  private removeNode(uid: string): void {
    this.nodes.delete(uid);
    for (const [id, request] of this.requests)
      if (request.missing?.delete(uid) && --request.remaining <= 0) this.complete(id, request, false);
  }

  private sweepSilentNodes(now: number): void {
    for (const [uid, lastSeen] of this.nodes)
      if (now - lastSeen > this.clusterOptions.heartbeatTimeout) {
        log.debug("node seems down", { nsp: this.nsp.name, uid });
        this.removeNode(uid);
      }
  }

  private publishMessage(type: MessageType, data?: MessageData): void {
    if (this.clusterOptions.heartbeats) this.scheduleHeartbeat();
    const message: ClusterMessage = { uid: this.uid, nsp: this.nsp.name, type };
    if (data) message.data = data;
    this.doPublish(message).catch((err: unknown) => log.debug("publish failed", { type, err }));
  }

  private publishResponse(requesterUid: string, type: MessageType, data: MessageData): void {
    const message: ClusterMessage = { uid: this.uid, nsp: this.nsp.name, type, data };
    this.doPublishResponse(requesterUid, message).catch((err: unknown) =>
      log.debug("response not published", { type, err }),
    );
  }

  private scheduleHeartbeat(): void {
    if (this.closed) return;
    if (this.heartbeatTimer) {
      this.heartbeatTimer.refresh();
      return;
    }
    this.heartbeatTimer = setTimeout(
      () => this.publishMessage(MessageType.HEARTBEAT),
      this.clusterOptions.heartbeatInterval,
    );
    this.heartbeatTimer.unref?.();
  }
}

export function toWireOptions(opts: BroadcastOptions): WireOptions {
  return { rooms: [...opts.rooms], except: [...new Set(opts.except ?? [])], flags: { ...opts.flags } };
}

export function fromWireOptions(opts: WireOptions): BroadcastOptions {
  return { rooms: new Set(opts.rooms), except: new Set(opts.except), flags: opts.flags ?? {} };
}

function toWireSocket(socket: LocalSocket): WireSocket {
  // sessionStore (express-session) may hold circular references: the official adapter strips it too.
  const { sessionStore: _omit, ...handshake } = socket.handshake;
  return { id: socket.id, handshake, rooms: [...socket.rooms], data: socket.data };
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
