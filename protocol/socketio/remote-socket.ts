/**
 * A socket as `fetchSockets()` returns it when it lives on another node of a cluster: its state
 * as that node reported it, and operations forwarded through the adapter.
 */
import type { Adapter } from "../adapter/adapter.ts";
import type { Room } from "../adapter/types.ts";
import { BroadcastOperator } from "./broadcast-operator.ts";
import type { Handshake } from "./handshake.ts";
import type { DecorateAcknowledgements, EventNames, EventParams, EventsMap } from "./typed-events.ts";

/** What a cluster adapter reports for a remote socket. */
export interface SocketDetails<SocketData> {
  id: string;
  handshake: Handshake;
  rooms: Room[] | Set<Room>;
  data: SocketData;
}

export class RemoteSocket<EmitEvents extends EventsMap, SocketData> {
  readonly id: string;
  readonly handshake: Handshake;
  readonly rooms: Set<Room>;
  readonly data: SocketData;

  constructor(
    private readonly adapter: Adapter,
    details: SocketDetails<SocketData>,
    private readonly send: (room: Room, ev: string, args: unknown[]) => boolean,
  ) {
    this.id = details.id;
    this.handshake = details.handshake;
    this.rooms = new Set(details.rooms);
    this.data = details.data;
  }

  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    return this.send(this.id, ev, args);
  }

  /**
   * The next emit expects the socket's ack within `ms`: `timeout(ms).emit(ev, ..., (err, answer) => ...)`
   * or `timeout(ms).emitWithAck(ev, ...)`, resolving with this socket's one answer, as socket.io's.
   */
  timeout(ms: number): BroadcastOperator<DecorateAcknowledgements<EmitEvents>, SocketData> {
    return new BroadcastOperator<DecorateAcknowledgements<EmitEvents>, SocketData>(
      this.adapter,
      new Set([this.id]),
      new Set(),
      { expectSingleResponse: true },
    ).timeout(ms) as never;
  }

  join(room: Room | Room[]): void {
    this.adapter.addSockets({ rooms: new Set([this.id]) }, Array.isArray(room) ? room : [room]);
  }

  leave(room: Room): void {
    this.adapter.delSockets({ rooms: new Set([this.id]) }, [room]);
  }

  disconnect(close = false): this {
    this.adapter.disconnectSockets({ rooms: new Set([this.id]) }, close);
    return this;
  }
}
