/** An in-memory EngineSocket: what a Client is fed and what it writes, without any network. */
import { EventEmitter } from "node:events";
import type {
  EngineCloseReason,
  EngineReceiver,
  EngineSocket,
  EngineSocketEvents,
  EngineSocketState,
  RawData,
} from "../../../protocol/engine/contract.ts";

let count = 0;

export class FakeEngineSocket implements EngineSocket {
  readonly id = `fake${count++}`.padEnd(20, "x");
  state: EngineSocketState = "open";
  readonly transportName = "websocket" as const;
  readonly transport = { name: "websocket" as const };
  writable = true;
  readonly protocol = 4 as const;
  readonly remoteAddress = "127.0.0.1";
  readonly upgrading = false;
  readonly upgraded = false;
  get readyState(): EngineSocketState {
    return this.state;
  }
  /** Each send or sendMany call, as the list of frames it carried. */
  readonly calls: RawData[][] = [];
  readonly request = {
    url: "http://127.0.0.1/socket.io/?EIO=4&transport=websocket",
    headers: new Headers({ host: "127.0.0.1" }),
    query: new URLSearchParams({ EIO: "4", transport: "websocket" }),
    remoteAddress: "127.0.0.1",
  };
  /** Every frame written, in order. */
  readonly sent: RawData[] = [];
  readonly topics = new Set<string>();
  closeReason: EngineCloseReason | undefined;
  private readonly events = new EventEmitter();
  private receiver: EngineReceiver | null = null;

  send(data: RawData): void {
    if (this.state !== "open") return;
    this.sent.push(data);
    this.calls.push([data]);
  }

  sendMany(data: readonly RawData[]): void {
    if (this.state !== "open") return;
    this.sent.push(...data);
    this.calls.push([...data]);
  }

  close(reason: EngineCloseReason = "forced close"): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.closeReason = reason;
    const receiver = this.receiver;
    this.receiver = null;
    receiver?.onEngineClose(reason);
    this.events.emit("close", reason);
  }

  subscribe(topic: string): void {
    this.topics.add(topic);
  }

  unsubscribe(topic: string): void {
    this.topics.delete(topic);
  }

  /** Deliver one frame from the "client". */
  receive(data: RawData): void {
    this.receiver?.onEngineMessage(data);
    this.events.emit("message", data);
  }

  setReceiver(receiver: EngineReceiver | null): void {
    this.receiver = receiver;
  }

  on<E extends keyof EngineSocketEvents>(event: E, listener: EngineSocketEvents[E]): this {
    this.events.on(event, listener);
    return this;
  }

  once<E extends keyof EngineSocketEvents>(event: E, listener: EngineSocketEvents[E]): this {
    this.events.once(event, listener);
    return this;
  }

  off<E extends keyof EngineSocketEvents>(event: E, listener: EngineSocketEvents[E]): this {
    this.events.off(event, listener);
    return this;
  }
}
