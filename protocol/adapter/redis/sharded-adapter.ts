/**
 * The sharded Redis adapter of one namespace, wire-compatible with `createShardedAdapter` of
 * `@socket.io/redis-adapter` 8.3 (Redis 7 sharded pub/sub, `SPUBLISH` / `SSUBSCRIBE`, for Redis
 * Cluster). It speaks socket.io-adapter's `ClusterAdapter` messages (cluster/messages.ts), as JSON,
 * or msgpack when a message that may carry binary does:
 *
 * - `<prefix>#<nsp>#`          every message of the namespace (and its requests)
 * - `<prefix>#<nsp>#<uid>#`    responses for the node `uid`
 * - `<prefix>#<nsp>#<room>#`   broadcasts to exactly one room, in the dynamic modes:
 *     `static`           never: everything goes through the namespace channel;
 *     `dynamic`          public rooms (not a socket's own id, told by its 20-character length);
 *     `dynamic-private`  every room, socket ids included.
 *   A node subscribes to the channel of a room while the room has a local member.
 *
 * Nodes are counted with `PUBSUB SHARDNUMSUB` of the namespace channel, so no heartbeats travel.
 *
 * With connection-state recovery on (the server's `connectionStateRecovery`), sessions and
 * recoverable broadcasts are kept in the namespace channel's hash slot (recovery.ts): a recoverable
 * broadcast is logged and SPUBLISHed on the namespace channel by one script, whatever its rooms,
 * and every node, this one included, delivers it when it comes back, in the log's order.
 */
import { decode as msgpackDecode, encode as msgpackEncode } from "notepack.io";
import { createLogger } from "../../logger.ts";
import {
  ClusterAdapter,
  type ClusterAdapterOptions,
  fromWireOptions,
  toWireOptions,
} from "../cluster/adapter.ts";
import {
  type ClusterMessage,
  checkMessage,
  hasBinary,
  MessageType,
  type WirePacket,
} from "../cluster/messages.ts";
import { ClusterRecovery, isRecoverable } from "../cluster/recovery.ts";
import type { AnyNamespace } from "../host.ts";
import type { BroadcastOptions, Packet, Room, Session, SessionToPersist, SocketId } from "../types.ts";
import { MalformedMessageError } from "./codec.ts";
import { RedisRecoveryStore, recoveryPlaceholder, splitAtPlaceholder, streamIdOrder } from "./recovery.ts";
import type { ShardedRedisLink } from "./sharded-link.ts";

const log = createLogger("adapter:redis-sharded");

export type ShardedSubscriptionMode = "static" | "dynamic" | "dynamic-private";

export interface ShardedRedisAdapterOptions extends Omit<ClusterAdapterOptions, "heartbeats"> {
  /** Channel prefix, as the official option. Default "socket.io". */
  channelPrefix?: string;
  /** Which rooms get a channel of their own. Default "dynamic" (as the official adapter). */
  subscriptionMode?: ShardedSubscriptionMode;
}

/** Socket ids are 20 characters: the official adapter tells private rooms apart this way. */
const looksLikeASocketId = (room: string) => room.length === 20;

const MAY_CONTAIN_BINARY = new Set<number>([
  MessageType.BROADCAST,
  MessageType.BROADCAST_ACK,
  MessageType.FETCH_SOCKETS_RESPONSE,
  MessageType.SERVER_SIDE_EMIT,
  MessageType.SERVER_SIDE_EMIT_RESPONSE,
]);

export class ShardedRedisAdapter extends ClusterAdapter {
  readonly channel: string;
  private readonly responseChannel: string;
  private readonly mode: ShardedSubscriptionMode;
  private readonly listener = (message: Buffer, channel: string) => this.onRaw(message, channel);
  /** Resolves once the namespace channel is subscribed: recoverable broadcasts and restores wait for it. */
  private subscribed: Promise<unknown> = Promise.resolve();
  /** Set when the server has connection-state recovery on. */
  private readonly recovery: { store: RedisRecoveryStore; state: ClusterRecovery } | undefined;

  constructor(
    nsp: AnyNamespace,
    private readonly link: ShardedRedisLink,
    options: ShardedRedisAdapterOptions = {},
  ) {
    super(nsp, { ...options, heartbeats: false });
    this.mode = options.subscriptionMode ?? "dynamic";
    this.channel = `${options.channelPrefix ?? "socket.io"}#${nsp.name}#`;
    this.responseChannel = `${this.channel}${this.uid}#`;
    const recovery = nsp.server.opts.connectionStateRecovery;
    if (recovery) {
      const window = recovery.maxDisconnectionDuration;
      const store = new RedisRecoveryStore(
        { evalScript: (script, keys, args) => link.evalScript(script, keys, args) },
        {
          channel: this.channel,
          publishCommand: "SPUBLISH",
          window,
          maxEntries: recovery.maxStoredPackets,
          decode: (bytes) => this.decodeLogged(bytes),
        },
      );
      const state = new ClusterRecovery(
        this,
        store,
        streamIdOrder,
        link.recoveryCounters,
        { channel: this.channel },
        window,
      );
      this.recovery = { store, state };
    }
    if (this.mode !== "static") {
      this.on("create-room", (room: string) => {
        if (this.hasOwnChannel(room)) void this.link.subscribe(this.roomChannel(room), this.listener);
      });
      this.on("delete-room", (room: string) => {
        if (this.hasOwnChannel(room)) this.link.unsubscribe(this.roomChannel(room));
      });
    }
  }

  /** Resolves once the namespace and response channels are subscribed. */
  override async init(): Promise<void> {
    this.subscribed = this.link.subscribe(this.channel, this.listener);
    await Promise.all([this.subscribed, this.link.subscribe(this.responseChannel, this.listener)]);
  }

  override close(): void {
    this.recovery?.state.close();
    super.close();
    this.link.unsubscribe(this.channel);
    this.link.unsubscribe(this.responseChannel);
    for (const room of this.rooms.keys())
      if (this.hasOwnChannel(room)) this.link.unsubscribe(this.roomChannel(room));
  }

  override async serverCount(): Promise<number> {
    return Math.max(1, (await this.link.shardNumsub(this.channel)) ?? 1);
  }

  override addAll(id: SocketId, rooms: Set<Room>): Promise<void> | void {
    const done = super.addAll(id, rooms);
    this.recovery?.state.joined(id);
    return done;
  }

  override broadcast(packet: Packet, opts: BroadcastOptions): void {
    packet.nsp = this.nsp.name;
    if (this.recovery && !opts.flags?.local && isRecoverable(packet, opts))
      this.broadcastRecoverable(packet, opts, this.recovery.store);
    else super.broadcast(packet, opts);
  }

  /**
   * Logs and SPUBLISHes on the namespace channel (one script), so that every node reads the
   * namespace's recoverable broadcasts in one order; delivered here when it comes back. When Redis
   * does not take it, it is delivered to this node's sockets only, unlogged.
   */
  private broadcastRecoverable(packet: Packet, opts: BroadcastOptions, store: RedisRecoveryStore): void {
    const placeholder = recoveryPlaceholder();
    const message: ClusterMessage = {
      uid: this.uid,
      nsp: this.nsp.name,
      type: MessageType.BROADCAST,
      data: {
        packet: { ...packet, data: [...(packet.data as unknown[]), placeholder] } as WirePacket,
        opts: toWireOptions(opts),
      },
    };
    const format = hasBinary(message.data) ? "msgpack" : "json";
    const parts = splitAtPlaceholder(
      format === "json" ? JSON.stringify(message) : msgpackEncode(message),
      placeholder,
      format,
    );
    // Not before this node listens on the namespace channel: it delivers what comes back from there.
    // Every broadcast waits for the same promise, so they still reach Redis in the order made.
    const appended = this.subscribed.then(() =>
      parts
        ? store.append(parts[0], parts[1], format)
        : Promise.reject(new Error("placeholder not found in the encoded message")),
    );
    appended.then(
      () => this.link.counters.published++,
      (err: unknown) => {
        this.link.counters.publishFailed++;
        log.warn("broadcast not logged for recovery: delivered on this node only", {
          channel: this.channel,
          err,
        });
        super.broadcast(packet, { ...opts, flags: { ...opts.flags, local: true } });
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

  /** With recovery, this node's own recoverable broadcasts are delivered when they come back. */
  protected override onMessage(message: ClusterMessage): void {
    const recovery = this.recovery?.state;
    if (
      recovery &&
      message.uid === this.uid &&
      message.nsp === this.nsp.name &&
      message.type === MessageType.BROADCAST &&
      message.data?.requestId === undefined &&
      message.data?.packet
    ) {
      const opts = fromWireOptions(message.data.opts ?? { rooms: [], except: [] });
      if (isRecoverable(message.data.packet as Packet, opts))
        this.deliverRemoteBroadcast(message.data.packet as Packet, opts);
      return;
    }
    super.onMessage(message);
  }

  protected override deliverRemoteBroadcast(packet: Packet, opts: BroadcastOptions): void {
    const recovery = this.recovery?.state;
    super.deliverRemoteBroadcast(
      packet,
      recovery && isRecoverable(packet, opts) ? recovery.live(packet.data as unknown[], opts) : opts,
    );
  }

  /** A logged message read back: its arguments and audience. */
  private decodeLogged(bytes: Buffer): { data: unknown[]; rooms: string[]; except: string[] } | null {
    const value = bytes[0] === 0x7b ? JSON.parse(bytes.toString()) : msgpackDecode(bytes);
    const message = checkMessage(value, this.nsp.name);
    const packet = message.data?.packet as Packet | undefined;
    if (!packet || !Array.isArray(packet.data)) return null;
    const opts = message.data?.opts ?? { rooms: [], except: [] };
    return { data: packet.data, rooms: opts.rooms.map(String), except: (opts.except ?? []).map(String) };
  }

  protected override onRequestTimeout(): void {
    this.link.counters.requestTimeouts++;
  }

  protected override async doPublish(message: ClusterMessage): Promise<void> {
    await this.link.publish(this.channelOf(message), encode(message));
  }

  protected override async doPublishResponse(requesterUid: string, response: ClusterMessage): Promise<void> {
    await this.link.publish(`${this.channel}${requesterUid}#`, encode(response));
  }

  /** The channel a message goes out on: a one-room broadcast without acks may have its room's own. */
  private channelOf(message: ClusterMessage): string {
    const rooms = message.data?.opts?.rooms;
    if (
      message.type !== MessageType.BROADCAST ||
      message.data?.requestId !== undefined ||
      rooms?.length !== 1 ||
      this.mode === "static"
    )
      return this.channel;
    const room = rooms[0] as string;
    if (this.mode === "dynamic" && looksLikeASocketId(room)) return this.channel;
    return this.roomChannel(room);
  }

  /** Whether this node listens on `room`'s own channel while it holds the room. */
  private hasOwnChannel(room: string): boolean {
    if (this.mode === "dynamic-private") return true;
    return this.mode === "dynamic" && !this.sids.has(room);
  }

  private roomChannel(room: string): string {
    return `${this.channel}${room}#`;
  }

  private onRaw(bytes: Buffer, channel: string): void {
    try {
      const value = bytes[0] === 0x7b ? JSON.parse(bytes.toString()) : msgpackDecode(bytes);
      this.onMessage(checkMessage(value, this.nsp.name));
    } catch (err) {
      this.link.counters.malformed++;
      log.debug("ignoring malformed message", {
        channel,
        reason: err instanceof MalformedMessageError ? err.reason : String(err),
      });
    }
  }
}

function encode(message: ClusterMessage): string | Uint8Array {
  return MAY_CONTAIN_BINARY.has(message.type) && hasBinary(message.data)
    ? msgpackEncode(message)
    : JSON.stringify(message);
}
