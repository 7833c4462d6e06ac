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
 */
import { decode as msgpackDecode, encode as msgpackEncode } from "notepack.io";
import { createLogger } from "../../logger.ts";
import { ClusterAdapter, type ClusterAdapterOptions } from "../cluster/adapter.ts";
import { type ClusterMessage, checkMessage, hasBinary, MessageType } from "../cluster/messages.ts";
import type { AnyNamespace } from "../host.ts";
import { MalformedMessageError } from "./codec.ts";
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

  constructor(
    nsp: AnyNamespace,
    private readonly link: ShardedRedisLink,
    options: ShardedRedisAdapterOptions = {},
  ) {
    super(nsp, { ...options, heartbeats: false });
    this.mode = options.subscriptionMode ?? "dynamic";
    this.channel = `${options.channelPrefix ?? "socket.io"}#${nsp.name}#`;
    this.responseChannel = `${this.channel}${this.uid}#`;
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
    await Promise.all([
      this.link.subscribe(this.channel, this.listener),
      this.link.subscribe(this.responseChannel, this.listener),
    ]);
  }

  override close(): void {
    super.close();
    this.link.unsubscribe(this.channel);
    this.link.unsubscribe(this.responseChannel);
    for (const room of this.rooms.keys())
      if (this.hasOwnChannel(room)) this.link.unsubscribe(this.roomChannel(room));
  }

  override async serverCount(): Promise<number> {
    return Math.max(1, (await this.link.shardNumsub(this.channel)) ?? 1);
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
