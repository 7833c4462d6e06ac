/**
 * An immutable selection of receivers (rooms, exclusions, flags) built by `to/in/except/volatile/
 * local/compress/timeout`, and the operations on it: emit (with optional acks collected from every
 * receiver), fetchSockets, socketsJoin/Leave, disconnectSockets. The adapter does the work.
 */
import type { Adapter } from "../adapter/adapter.ts";
import type { BroadcastFlags, BroadcastOptions, Room, SocketId } from "../adapter/types.ts";
import { createLogger } from "../logger.ts";
import { runHook } from "../user-hooks.ts";
import { type Packet, PacketType } from "./packet-codec.ts";
import { ErrorMessages, RESERVED_EVENTS } from "./reasons.ts";
import { RemoteSocket, type SocketDetails } from "./remote-socket.ts";
import type { Socket } from "./socket.ts";
import type {
  AllButLast,
  DefaultEventsMap,
  EventNames,
  EventNamesWithAck,
  EventParams,
  EventsMap,
  Last,
  MultiAckResult,
} from "./typed-events.ts";

const log = createLogger("socketio");

export { RemoteSocket };

type AckCollector = (err: Error | null, responses: unknown) => void;

function asList(room: Room | Room[]): Room[] {
  return Array.isArray(room) ? room : [room];
}

/**
 * `rooms` plus `room` as a new set (operators never change a set they were given). A single room,
 * the usual `to(room)`, is added without the array `asList` would allocate for it.
 */
export function withRooms(rooms: ReadonlySet<Room> | undefined, room: Room | Room[]): Set<Room> {
  // `new Set()` without an argument is the constructor's fast path (no iteration protocol).
  const out = rooms === undefined || rooms.size === 0 ? new Set<Room>() : new Set(rooms);
  if (Array.isArray(room)) for (const r of room) out.add(r);
  else out.add(room);
  return out;
}

export class BroadcastOperator<EmitEvents extends EventsMap = DefaultEventsMap, SocketData = unknown> {
  constructor(
    private readonly adapter: Adapter,
    private readonly rooms: Set<Room> = new Set(),
    private readonly exceptRooms: Set<Room> = new Set(),
    private readonly flags: BroadcastFlags = {},
  ) {}

  to(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData> {
    return new BroadcastOperator(this.adapter, withRooms(this.rooms, room), this.exceptRooms, this.flags);
  }

  in(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData> {
    return this.to(room);
  }

  except(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData> {
    return new BroadcastOperator(this.adapter, this.rooms, withRooms(this.exceptRooms, room), this.flags);
  }

  compress(compress: boolean): BroadcastOperator<EmitEvents, SocketData> {
    return this.withFlags({ compress });
  }

  /** Drop the packet for receivers that cannot take it now. */
  get volatile(): BroadcastOperator<EmitEvents, SocketData> {
    return this.withFlags({ volatile: true });
  }

  /** Only the sockets of this node. */
  get local(): BroadcastOperator<EmitEvents, SocketData> {
    return this.withFlags({ local: true });
  }

  /** Wait at most `ms` for the acks of every receiver. */
  timeout(ms: number): BroadcastOperator<EmitEvents, SocketData> {
    return this.withFlags({ timeout: ms });
  }

  private withFlags(flags: BroadcastFlags): BroadcastOperator<EmitEvents, SocketData> {
    return new BroadcastOperator(this.adapter, this.rooms, this.exceptRooms, { ...this.flags, ...flags });
  }

  private options(): BroadcastOptions {
    return { rooms: this.rooms, except: this.exceptRooms, flags: this.flags };
  }

  /**
   * Send to every selected socket. A trailing function collects one ack per receiver:
   * `(err, responses)`, err set when `timeout` elapsed first.
   */
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    if (RESERVED_EVENTS.has(ev)) throw new Error(`"${String(ev)}" ${ErrorMessages.RESERVED_EVENT}`);
    const data: unknown[] = [ev, ...args];
    const packet: Packet = { type: PacketType.EVENT, nsp: this.adapter.nsp.name, data };
    if (typeof data[data.length - 1] !== "function") {
      this.adapter.broadcast(packet, this.options());
      return true;
    }
    this.broadcastWithAck(packet, data.pop() as AckCollector);
    return true;
  }

  private broadcastWithAck(packet: Packet, ack: AckCollector): void {
    const single = this.flags.expectSingleResponse === true;
    const responses: unknown[] = [];
    let timedOut = false;
    let expectedServerCount = -1;
    let actualServerCount = 0;
    let expectedClientCount = 0;
    const fields = { nsp: this.adapter.nsp.name };
    const timer = setTimeout(() => {
      timedOut = true;
      runHook(log, "ack callback failed", fields, () =>
        ack(new Error(ErrorMessages.ACK_TIMEOUT), single ? null : responses),
      );
    }, this.flags.timeout);
    const check = () => {
      if (timedOut || expectedServerCount !== actualServerCount || responses.length !== expectedClientCount)
        return;
      clearTimeout(timer);
      runHook(log, "ack callback failed", fields, () => ack(null, single ? responses[0] : responses));
    };
    this.adapter.broadcastWithAck(
      packet,
      this.options(),
      (clientCount) => {
        expectedClientCount += clientCount;
        actualServerCount++;
        check();
      },
      (response) => {
        responses.push(response);
        check();
      },
    );
    this.adapter.serverCount().then(
      (count) => {
        expectedServerCount = count;
        check();
      },
      // The timeout answers the ack: nothing else to do than say why it will.
      (err: unknown) => log.error("adapter serverCount failed", { ...fields, error: err }),
    );
  }

  /** `emit` returning a promise of every receiver's answer (rejected on timeout). */
  emitWithAck<Ev extends EventNamesWithAck<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<MultiAckResult<Last<EventParams<EmitEvents, Ev>>>> {
    return new Promise((resolve, reject) => {
      // As socket.io's, a timeout rejects with the answers that did arrive as `err.responses`.
      const ack: AckCollector = (err, responses) =>
        err ? reject(Object.assign(err, { responses })) : resolve(responses as never);
      // biome-ignore lint/suspicious/noExplicitAny: the ack is appended to the typed arguments
      (this.emit as (ev: string, ...a: any[]) => boolean)(ev, ...args, ack);
    });
  }

  /** The selected sockets: local ones as Socket, remote ones (cluster) as RemoteSocket. */
  async fetchSockets(): Promise<
    (Socket<EventsMap, EmitEvents, EventsMap, SocketData> | RemoteSocket<EmitEvents, SocketData>)[]
  > {
    const found = await this.adapter.fetchSockets(this.options());
    const send = (room: Room, ev: string, args: unknown[]) =>
      // biome-ignore lint/suspicious/noExplicitAny: forwarded as given
      (this.to(room).emit as (ev: string, ...a: any[]) => boolean)(ev, ...args);
    return found.map((socket) =>
      socket.client === undefined
        ? new RemoteSocket<EmitEvents, SocketData>(
            this.adapter,
            socket as unknown as SocketDetails<SocketData>,
            send,
          )
        : (socket as Socket<EventsMap, EmitEvents, EventsMap, SocketData>),
    );
  }

  /**
   * Ids of the selected sockets on this node (socket.io's deprecated `allSockets`; a cluster adapter
   * may answer for the whole cluster). Prefer `fetchSockets`.
   */
  allSockets(): Promise<Set<SocketId>> {
    return this.adapter.sockets(this.rooms);
  }

  socketsJoin(room: Room | Room[]): void {
    this.adapter.addSockets(this.options(), asList(room));
  }

  socketsLeave(room: Room | Room[]): void {
    this.adapter.delSockets(this.options(), asList(room));
  }

  disconnectSockets(close = false): void {
    this.adapter.disconnectSockets(this.options(), close);
  }
}
