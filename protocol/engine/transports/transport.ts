/**
 * What a session needs from a transport, and what a transport reports back. Transports only move
 * bytes: the session owns the write buffer, the heartbeat and the state machine.
 */
import type { EngineTransportName, RawData } from "../contract.ts";
import type { OutPacket, PacketType } from "../packet.ts";

export interface Transport {
  readonly name: EngineTransportName;
  /** True when `send` would write at once (a polling GET is waiting; a websocket is open). */
  readonly writable: boolean;
  /** Writes packets in order. Polling answers the waiting GET with all of them in one payload. */
  send(packets: readonly OutPacket[], compress: boolean): void;
  /** Ends the transport. Polling answers a waiting GET with the close packet. */
  close(): void;
}

/** The session side of a transport: where decoded packets and transport failures go. */
export interface TransportOwner {
  onPacket(type: PacketType | -1, data: RawData): void;
  /** The transport failed (overlap, oversized body, aborted request): close with "transport error". */
  onTransportError(description: string): void;
  /** The client closed the transport. */
  onTransportClose(): void;
  /** A polling GET arrived and can take packets. */
  onPollReady(): void;
}
