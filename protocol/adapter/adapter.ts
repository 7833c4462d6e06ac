/**
 * The adapter of a namespace: who is in which room, and how a broadcast reaches them. This class is
 * the in-memory implementation (as socket.io-adapter's `Adapter` is); a cluster adapter extends it.
 *
 * ## Writing a cluster adapter (Redis, ...)
 * Keep socket.io-adapter's method names and shapes so that a cluster stays wire-compatible with
 * @socket.io/redis-adapter 8: packets are socket.io-parser `Packet` objects ({type, nsp, data, id?}),
 * options are `BroadcastOptions` ({rooms: Set, except: Set, flags}). Override:
 * - `init()` / `close()`: subscribe to and leave the cluster's channels.
 * - `broadcast(packet, opts)`: forward to the other nodes unless `opts.flags.local`, then call
 *   `super.broadcast` for the local sockets. On a message from another node, call `super.broadcast`.
 * - `broadcastWithAck(packet, opts, clientCountCallback, ack)`: forward, call `super.broadcastWithAck`,
 *   and report each remote node's client count and each remote ack through the two callbacks.
 * - `serverCount()`: how many nodes will answer (broadcast acks wait for that many counts).
 * - `addSockets`, `delSockets`, `disconnectSockets`, `fetchSockets`: forward, then run locally
 *   (`super.*`); `fetchSockets` answers remote sockets as plain `{id, handshake, rooms, data}`.
 * - `serverSideEmit(packet)`: forward to the other nodes (the first element is the event name; a
 *   trailing function is an ack expecting one response per node). On receipt call
 *   `this.nsp._onServerSideEmit(args)`.
 * - `persistSession` / `restoreSession`: only if the cluster stores sessions for recovery.
 * Rooms bookkeeping (`addAll`, `del`, `delAll`, `rooms`, `sids`) stays local and is inherited.
 */
import { EventEmitter } from "node:events";
import type { EngineSocket, RawData } from "../engine/contract.ts";
import { createLogger } from "../logger.ts";
import { runHook } from "../user-hooks.ts";
import type { AnyNamespace, AnySocket, WriteOptions } from "./host.ts";
import { namespaceTopic, roomTopic } from "./topics.ts";
import type {
  AdapterEvents,
  BroadcastFlags,
  BroadcastOptions,
  Packet,
  Room,
  Session,
  SessionToPersist,
  SocketId,
} from "./types.ts";

export type { WriteOptions };

/** The write options of a packet sent with these flags (compression on unless turned off). */
export function writeOptions(flags: BroadcastFlags | undefined): WriteOptions {
  return { volatile: flags?.volatile, compress: flags?.compress !== false };
}

const log = createLogger("adapter");

export class Adapter extends EventEmitter {
  /** Room → ids of its local members. A socket id is also a room holding that socket. */
  readonly rooms = new Map<Room, Set<SocketId>>();
  /** Socket id → rooms it is in. */
  readonly sids = new Map<SocketId, Set<Room>>();

  /** The namespace-wide topic, built once (every broadcast to the namespace publishes on it). */
  private readonly nspTopic: string;
  /**
   * Room → its topic, for the rooms that exist here, so a broadcast neither builds the topic string
   * again nor hashes a new one (the engine's publish and its per-turn bookkeeping key on it).
   */
  private readonly topics = new Map<Room, string>();

  constructor(readonly nsp: AnyNamespace) {
    super();
    this.nspTopic = namespaceTopic(nsp.name);
  }

  /**
   * A room event (create-room, join-room, ...) for the application's listeners. Each runs even if
   * another throws (logged): the rooms bookkeeping around the emit must finish whatever they do.
   */
  private emitRoomEvent(ev: keyof AdapterEvents, ...args: string[]): void {
    if (this.listenerCount(ev) !== 0) this.callRoomListeners(ev, args);
  }

  /**
   * Apart from `emitRoomEvent` because of its closure: a function whose variables a closure
   * captures gets a scope object at every call, even when the closure is never created, and room
   * events fire at every connect (usually with no listener).
   */
  private callRoomListeners(ev: keyof AdapterEvents, args: string[]): void {
    for (const listener of this.rawListeners(ev)) {
      runHook(log, "room event listener failed", { nsp: this.nsp.name, event: ev }, () =>
        (listener as (...a: string[]) => unknown).apply(this, args),
      );
    }
  }

  /** Called once when the namespace is created (a cluster adapter connects here). */
  init(): Promise<void> | void {}

  /** Called when the namespace or the server closes. */
  close(): Promise<void> | void {}

  /** Number of nodes in the cluster; 1 without one. */
  serverCount(): Promise<number> {
    return Promise.resolve(1);
  }

  /**
   * A socket's first room is its own id (joined at connect). Until it joins another room, or
   * another socket joins that one, the same Set `{id}` is both its rooms (`sids`) and the room's
   * members (`rooms`): an idle socket then costs one Set instead of two (256 B each in Bun, most of
   * the rooms bookkeeping of an idle connection). The sharing ends before either side changes
   * (`unshare`): the socket keeps the Set, the room gets a copy.
   */
  addAll(id: SocketId, rooms: Set<Room>): Promise<void> | void {
    let roomsOfSocket = this.sids.get(id);
    const conn = this.nsp.sockets.get(id)?.conn;
    for (const room of rooms) {
      if (roomsOfSocket === undefined && room === id && !this.rooms.has(id)) {
        roomsOfSocket = new Set([id]);
        this.sids.set(id, roomsOfSocket);
        this.rooms.set(id, roomsOfSocket);
        this.emitRoomEvent("create-room", id);
        this.emitRoomEvent("join-room", id, id);
        conn?.subscribe(this.nspTopic);
        continue;
      }
      if (roomsOfSocket === undefined) {
        roomsOfSocket = new Set();
        this.sids.set(id, roomsOfSocket);
      } else if (!roomsOfSocket.has(room)) this.unshare(id);
      roomsOfSocket.add(room);
      if (room !== id) this.unshare(room);
      let members = this.rooms.get(room);
      if (!members) {
        members = new Set();
        this.rooms.set(room, members);
        this.emitRoomEvent("create-room", room);
      }
      if (members.has(id)) continue;
      members.add(id);
      this.emitRoomEvent("join-room", room, id);
      // The own-id room is joined once at connect and left at disconnect: it carries the
      // namespace-wide subscription; other rooms get their own topic.
      conn?.subscribe(room === id ? this.nspTopic : this.topicOf(room));
    }
  }

  del(id: SocketId, room: Room): Promise<void> | void {
    if (room === id) this.unshare(id);
    this.sids.get(id)?.delete(room);
    this.removeMember(room, id, this.nsp.sockets.get(id)?.conn);
  }

  delAll(id: SocketId): void {
    const roomsOfSocket = this.sids.get(id);
    if (!roomsOfSocket) return;
    this.unshare(id);
    const conn = this.nsp.sockets.get(id)?.conn;
    for (const room of roomsOfSocket) this.removeMember(room, id, conn);
    this.sids.delete(id);
  }

  /** Gives the own room of socket `id` a Set of its own if it shares the socket's (see addAll). */
  private unshare(id: SocketId): void {
    const roomsOfSocket = this.sids.get(id);
    if (roomsOfSocket !== undefined && this.rooms.get(id) === roomsOfSocket) {
      this.rooms.set(id, new Set(roomsOfSocket));
    }
  }

  private removeMember(room: Room, id: SocketId, conn: EngineSocket | undefined): void {
    const members = this.rooms.get(room);
    if (!members?.delete(id)) return;
    this.emitRoomEvent("leave-room", room, id);
    conn?.unsubscribe(room === id ? this.nspTopic : this.topicOf(room));
    if (members.size === 0 && this.rooms.delete(room)) {
      this.topics.delete(room);
      this.emitRoomEvent("delete-room", room);
    }
  }

  /** Send one packet to every matching local socket. It is encoded once, whatever the audience. */
  broadcast(packet: Packet, opts: BroadcastOptions): void {
    packet.nsp = this.nsp.name;
    const frames = this.nsp.server.encoder.encode(packet);
    if (this.publish(frames, opts)) return;
    const write = writeOptions(opts.flags);
    this.apply(opts, (socket) => {
      socket.notifyOutgoingListeners(packet);
      socket.client.writeToEngine(frames, write);
    });
  }

  /**
   * Broadcast expecting one ack per receiver. Every receiver gets the same packet id (the
   * namespace's counter is shared, so it is unique for each of them) and the same frames.
   */
  broadcastWithAck(
    packet: Packet,
    opts: BroadcastOptions,
    clientCountCallback: (clientCount: number) => void,
    ack: (...args: unknown[]) => void,
  ): void {
    packet.nsp = this.nsp.name;
    packet.id = this.nsp._nextAckId();
    const id = packet.id;
    const frames = this.nsp.server.encoder.encode(packet);
    const write = writeOptions(opts.flags);
    let clientCount = 0;
    this.apply(opts, (socket) => {
      clientCount++;
      socket.acks.set(id, ack);
      socket.notifyOutgoingListeners(packet);
      socket.client.writeToEngine(frames, write);
    });
    clientCountCallback(clientCount);
  }

  /**
   * The native fan-out: one engine publish when the audience is one topic (a room that is not a
   * socket's own id, or the whole namespace) and at most one local socket is excluded. Volatile
   * packets and sockets watching their outgoing packets take the per-socket path.
   */
  private publish(frames: RawData[], opts: BroadcastOptions): boolean {
    const { rooms } = opts;
    if (opts.flags?.volatile || this.nsp._outgoingWatchers > 0 || rooms.size > 1) return false;
    let topic = this.nspTopic;
    if (rooms.size === 1) {
      const room = rooms.values().next().value as Room;
      if (this.nsp.sockets.has(room)) return false;
      // A remembered topic means the room exists: one lookup instead of two on the usual path.
      const known = this.topics.get(room);
      if (known !== undefined) topic = known;
      else if (!this.rooms.has(room)) return true;
      else topic = this.topicOf(room);
    }
    let except: EngineSocket | undefined;
    if (opts.except !== undefined && opts.except.size > 0) {
      const excluded = this.exceptSids(opts.except);
      if (excluded.size > 1) return false;
      for (const sid of excluded) {
        except = this.nsp.sockets.get(sid)?.conn;
        if (!except) return false;
      }
    }
    const compress = opts.flags?.compress !== false;
    this.nsp.server.engine.publish(topic, frames.length === 1 ? frames[0]! : frames, { compress, except });
    return true;
  }

  /** The topic of a room that exists here (remembered until the room is deleted). */
  private topicOf(room: Room): string {
    let topic = this.topics.get(room);
    if (topic === undefined) {
      topic = roomTopic(this.nsp.name, room);
      this.topics.set(room, topic);
    }
    return topic;
  }

  /** Ids of the local sockets matching `rooms` (all sockets when empty). */
  sockets(rooms: Set<Room>): Promise<Set<SocketId>> {
    const ids = new Set<SocketId>();
    this.apply({ rooms }, (socket) => ids.add(socket.id));
    return Promise.resolve(ids);
  }

  socketRooms(id: SocketId): Set<Room> | undefined {
    return this.sids.get(id);
  }

  fetchSockets(opts: BroadcastOptions): Promise<AnySocket[]> {
    return Promise.resolve(this.collect(opts));
  }

  addSockets(opts: BroadcastOptions, rooms: Room[]): void {
    for (const socket of this.collect(opts)) socket.join(rooms);
  }

  delSockets(opts: BroadcastOptions, rooms: Room[]): void {
    for (const socket of this.collect(opts)) for (const room of rooms) socket.leave(room);
  }

  disconnectSockets(opts: BroadcastOptions, close: boolean): void {
    for (const socket of this.collect(opts)) socket.disconnect(close);
  }

  /**
   * Send an event to the other nodes of a cluster. On a single node there is nobody to tell: an
   * ack (a trailing function) is answered at once with no responses.
   */
  serverSideEmit(packet: unknown[]): void {
    const ack = packet[packet.length - 1];
    if (typeof ack === "function") ack(null, []);
  }

  /** Keep a disconnected socket's state for recovery (session-aware adapters only). */
  persistSession(_session: SessionToPersist): Promise<void> | void {}

  /** Find a persisted session and the packets sent since `offset` (session-aware adapters only). */
  restoreSession(_pid: string, _offset: string): Promise<Session | null> {
    return Promise.resolve(null);
  }

  /** The sockets matching `opts`, collected first so the callback may change rooms safely. */
  private collect(opts: BroadcastOptions): AnySocket[] {
    const sockets: AnySocket[] = [];
    this.apply(opts, (socket) => sockets.push(socket));
    return sockets;
  }

  /** Run `callback` once for every local socket in any of `opts.rooms` and in none of `opts.except`. */
  protected apply(opts: BroadcastOptions, callback: (socket: AnySocket) => void): void {
    const except = opts.except && opts.except.size > 0 ? this.exceptSids(opts.except) : undefined;
    const { rooms } = opts;
    if (rooms.size === 0) {
      for (const id of this.sids.keys()) {
        if (except?.has(id)) continue;
        const socket = this.nsp.sockets.get(id);
        if (socket) callback(socket);
      }
      return;
    }
    const seen = rooms.size > 1 ? new Set<SocketId>() : undefined;
    for (const room of rooms) {
      const members = this.rooms.get(room);
      if (!members) continue;
      for (const id of members) {
        if (except?.has(id) || seen?.has(id)) continue;
        const socket = this.nsp.sockets.get(id);
        if (!socket) continue;
        seen?.add(id);
        callback(socket);
      }
    }
  }

  /** Ids of the local sockets in any of the excluded rooms. */
  protected exceptSids(exceptRooms: Set<Room>): Set<SocketId> {
    const ids = new Set<SocketId>();
    for (const room of exceptRooms) {
      const members = this.rooms.get(room);
      if (members) for (const id of members) ids.add(id);
    }
    return ids;
  }
}
