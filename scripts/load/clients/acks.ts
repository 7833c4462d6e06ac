/** Ack-id bookkeeping shared by both client transports. */
import { ackArgs, encodeEvent } from "../wire.ts";
import { ClientError } from "./client.ts";

export class AckTable {
  private nextId = 0;
  private readonly pending = new Map<number, (raw: string) => void>();

  /** Register a callback and return the encoded EVENT packet carrying its ack id. */
  encode(event: string, args: readonly unknown[], onAck: (raw: string) => void): string {
    const id = this.nextId++;
    this.pending.set(id, onAck);
    return encodeEvent(event, args, id);
  }

  /** Same for a JSON array body that is already encoded (`["event",...]`). */
  encodeRaw(body: string, onAck: (raw: string) => void): string {
    const id = this.nextId++;
    this.pending.set(id, onAck);
    return `42${id}${body}`;
  }

  /** Acks still awaited. */
  get outstanding(): number {
    return this.pending.size;
  }

  /** Resolve the ack of an `43<id>[...]` packet; unknown ids (late after a timeout) are dropped. */
  settle(raw: string): void {
    const open = raw.indexOf("[", 2);
    const id = Number(raw.slice(2, open));
    const callback = this.pending.get(id);
    if (!callback) return;
    this.pending.delete(id);
    callback(raw);
  }

  /** Promise form: resolves with the ack's arguments or rejects after `timeoutMs`. */
  wait(
    send: (packet: string) => void,
    event: string,
    args: readonly unknown[],
    timeoutMs: number,
  ): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${ClientError.AckTimeout}: ${event}`)), timeoutMs);
      send(
        this.encode(event, args, (raw) => {
          clearTimeout(timer);
          resolve(ackArgs(raw));
        }),
      );
    });
  }
}
