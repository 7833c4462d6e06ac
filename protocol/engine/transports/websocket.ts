/**
 * The websocket transport on Bun's native websockets: a text packet is one text frame, a binary
 * message one binary frame with no prefix.
 */
import type { ServerWebSocket } from "bun";
import { type OutPacket, outPacketSize } from "../packet.ts";
import { currentTurn, markWrite } from "../turn.ts";
import type { Transport } from "./transport.ts";

/** What happened to one frame handed to Bun. */
export const SendStatus = {
  /** Written (or queued under the backpressure limit). */
  OK: 0,
  /** The send buffer is over the engine's limit: the client is too slow. */
  OVER_LIMIT: 1,
} as const;
export type SendStatus = (typeof SendStatus)[keyof typeof SendStatus];

const WS_OPEN = 1;
/**
 * Bun's `send` result when the frame was dropped (buffer past `backpressureLimit`, or closed). Bun
 * returns the bytes written otherwise, so an empty frame that was sent also reports 0.
 */
const BUN_DROPPED = 0;
/** Bun's `send` result when the frame was queued behind others. */
const BUN_BACKPRESSURE = -1;

/**
 * Smallest frame worth permessage-deflate (engine.io's `perMessageDeflate.threshold`): below it the
 * CPU cost buys almost nothing. Only matters when `perMessageDeflate` is on.
 */
export const PER_MESSAGE_DEFLATE_THRESHOLD = 1024;

export function worthCompressing(packet: OutPacket): boolean {
  return outPacketSize(packet) >= PER_MESSAGE_DEFLATE_THRESHOLD;
}

export class WebSocketTransport<T = unknown> implements Transport {
  readonly name = "websocket" as const;
  /** The event-loop turn of the last write (see turn.ts). */
  private writeTurn = -1;

  constructor(
    readonly ws: ServerWebSocket<T>,
    private readonly maxBufferedBytes: number,
  ) {}

  get writable(): boolean {
    return this.ws.readyState === WS_OPEN;
  }

  /** Written to in this turn: engine.io's transport would still wait for its send callback. */
  get busy(): boolean {
    return this.writeTurn === currentTurn();
  }

  /** Sends one frame; reports when the client's buffer went over the limit. */
  write(packet: OutPacket, compress: boolean): SendStatus {
    this.writeTurn = markWrite();
    const result = this.ws.send(packet, compress && worthCompressing(packet));
    if (result === BUN_DROPPED) {
      // An empty frame (an empty binary attachment) is "0 bytes sent", not a drop: only the buffer
      // can tell whether Bun refused it.
      if (outPacketSize(packet) === 0) return this.overLimit() ? SendStatus.OVER_LIMIT : SendStatus.OK;
      return this.writable ? SendStatus.OVER_LIMIT : SendStatus.OK;
    }
    if (result === BUN_BACKPRESSURE && this.ws.getBufferedAmount() > this.maxBufferedBytes) {
      return SendStatus.OVER_LIMIT;
    }
    return SendStatus.OK;
  }

  send(packets: readonly OutPacket[], compress: boolean): void {
    for (const packet of packets) this.write(packet, compress);
  }

  /** True when the client's send buffer is past the limit. */
  overLimit(): boolean {
    return this.ws.getBufferedAmount() > this.maxBufferedBytes;
  }

  close(code?: number, reason?: string): void {
    if (this.ws.readyState > WS_OPEN) return;
    this.ws.close(code, reason);
  }
}
