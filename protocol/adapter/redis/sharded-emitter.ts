/**
 * An emitter for a sharded cluster: a process that is not a Socket.IO server (a worker, a cron
 * job) reaches the clients of every node, Switchboard or official, through the same channels the
 * sharded adapter uses (the official `@socket.io/redis-emitter` has no sharded mode). It publishes
 * the adapter's own cluster messages with the uid "emitter", on the namespace channel, or on a
 * room's channel where the subscription mode gives one-room broadcasts a channel of their own.
 *
 * ```ts
 * const emitter = new ShardedEmitter(link, { subscriptionMode: "dynamic" });
 * emitter.of("/chat").to("room1").emit("news", 1);
 * ```
 */
import { encode as msgpackEncode } from "notepack.io";
import {
  type ClusterMessage,
  EMITTER_UID,
  hasBinary,
  type MessageData,
  MessageType,
} from "../cluster/messages.ts";
import type { ShardedSubscriptionMode } from "./sharded-adapter.ts";
import type { ShardedRedisLink } from "./sharded-link.ts";

export interface ShardedEmitterOptions {
  /** Must match the adapters' `channelPrefix`. Default "socket.io". */
  channelPrefix?: string;
  /** Must match the adapters' `subscriptionMode`. Default "dynamic". */
  subscriptionMode?: ShardedSubscriptionMode;
}

/** Names socket.io reserves: emitting them would confuse clients. */
const RESERVED = new Set([
  "connect",
  "connect_error",
  "disconnect",
  "disconnecting",
  "newListener",
  "removeListener",
]);

export class ShardedEmitter {
  constructor(
    private readonly link: ShardedRedisLink,
    private readonly options: ShardedEmitterOptions = {},
    private readonly nsp = "/",
    private readonly rooms: string[] = [],
    private readonly exceptRooms: string[] = [],
  ) {}

  of(nsp: string): ShardedEmitter {
    return new ShardedEmitter(this.link, this.options, nsp.startsWith("/") ? nsp : `/${nsp}`);
  }

  to(room: string | string[]): ShardedEmitter {
    return new ShardedEmitter(
      this.link,
      this.options,
      this.nsp,
      [...this.rooms, ...[room].flat()],
      this.exceptRooms,
    );
  }

  in(room: string | string[]): ShardedEmitter {
    return this.to(room);
  }

  except(room: string | string[]): ShardedEmitter {
    return new ShardedEmitter(this.link, this.options, this.nsp, this.rooms, [
      ...this.exceptRooms,
      ...[room].flat(),
    ]);
  }

  /** Broadcasts an event; resolves true once Redis took it. */
  emit(event: string, ...args: unknown[]): Promise<boolean> {
    if (RESERVED.has(event)) throw new Error(`"${event}" is a reserved event name`);
    const packet = { type: 2, nsp: this.nsp, data: [event, ...args] };
    return this.publish(MessageType.BROADCAST, { packet, opts: this.opts() });
  }

  socketsJoin(rooms: string | string[]): Promise<boolean> {
    return this.publish(MessageType.SOCKETS_JOIN, { opts: this.opts(), rooms: [rooms].flat() });
  }

  socketsLeave(rooms: string | string[]): Promise<boolean> {
    return this.publish(MessageType.SOCKETS_LEAVE, { opts: this.opts(), rooms: [rooms].flat() });
  }

  disconnectSockets(close = false): Promise<boolean> {
    return this.publish(MessageType.DISCONNECT_SOCKETS, { opts: this.opts(), close });
  }

  serverSideEmit(event: string, ...args: unknown[]): Promise<boolean> {
    if (typeof args[args.length - 1] === "function") throw new Error("acknowledgements are not supported");
    return this.publish(MessageType.SERVER_SIDE_EMIT, { packet: [event, ...args] });
  }

  private opts() {
    return { rooms: this.rooms, except: this.exceptRooms, flags: {} };
  }

  private publish(type: MessageType, data: MessageData): Promise<boolean> {
    const message: ClusterMessage = { uid: EMITTER_UID, nsp: this.nsp, type, data };
    const payload = hasBinary(data) ? msgpackEncode(message) : JSON.stringify(message);
    return this.link.publish(this.channelOf(type), payload);
  }

  /** The same channel choice as the adapter's (sharded-adapter.ts `channelOf`). */
  private channelOf(type: MessageType): string {
    const channel = `${this.options.channelPrefix ?? "socket.io"}#${this.nsp}#`;
    const mode = this.options.subscriptionMode ?? "dynamic";
    if (type !== MessageType.BROADCAST || this.rooms.length !== 1 || mode === "static") return channel;
    const room = this.rooms[0] as string;
    if (mode === "dynamic" && room.length === 20) return channel;
    return `${channel}${room}#`;
  }
}
