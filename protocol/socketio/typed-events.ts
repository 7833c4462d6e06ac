/**
 * Type-level plumbing that lets `Server<ClientToServer, ServerToClient, InterServer, SocketData>`
 * check event names, payloads and ack callbacks at compile time, as socket.io's typed-events do.
 * Nothing here exists at run time except `TypedEmitter`.
 */
import { EventEmitter } from "node:events";
import { createLogger } from "../logger.ts";
import { watchResult } from "../user-hooks.ts";

const log = createLogger("socketio");

/** A map from event name to listener signature. */
// biome-ignore lint/suspicious/noExplicitAny: listener maps are any-typed by definition
export type EventsMap = Record<string, any>;

/** The map used when none is given: any event, any arguments. */
export interface DefaultEventsMap {
  // biome-ignore lint/suspicious/noExplicitAny: untyped fallback, as in socket.io
  [event: string]: (...args: any[]) => void;
}

export type EventNames<Map extends EventsMap> = keyof Map & string;

// biome-ignore lint/suspicious/noExplicitAny: Parameters<> needs a function constraint
type AnyFn = (...args: any[]) => any;

export type EventParams<Map extends EventsMap, Ev extends EventNames<Map>> = Map[Ev] extends AnyFn
  ? Parameters<Map[Ev]>
  : never;

// biome-ignore lint/suspicious/noExplicitAny: tuple helpers work on any element type
export type Last<T extends any[]> = T extends [...infer _H, infer L] ? L : T extends (infer E)[] ? E : never;
// biome-ignore lint/suspicious/noExplicitAny: tuple helpers work on any element type
export type AllButLast<T extends any[]> = T extends [...infer H, infer _L] ? H : T;

/** Events whose last parameter is an ack callback. */
export type EventNamesWithAck<Map extends EventsMap> = {
  [K in EventNames<Map>]: Map[K] extends AnyFn ? (Last<Parameters<Map[K]>> extends AnyFn ? K : never) : never;
}[EventNames<Map>];

/** The value an `emitWithAck` promise resolves to: the first argument of the ack after the error. */
export type AckResult<Ack> = Ack extends (...args: infer P) => unknown
  ? P extends [Error, ...infer R]
    ? R[0]
    : P[0]
  : never;

/** Listener type for `on(ev)`: reserved events first, then user events, else untyped. */
export type ListenerOf<Reserved extends EventsMap, User extends EventsMap, Ev> =
  Ev extends EventNames<Reserved>
    ? Reserved[Ev]
    : Ev extends EventNames<User>
      ? User[Ev]
      : // biome-ignore lint/suspicious/noExplicitAny: unknown events fall back to untyped listeners
        (...args: any[]) => void;

/** After `timeout(ms)` an ack callback receives an Error (or null) first. */
export type DecorateAcknowledgements<E extends EventsMap> = {
  [K in keyof E]: E[K] extends (...args: infer P) => infer R ? (...args: PrependTimeoutError<P>) => R : E[K];
};
// biome-ignore lint/suspicious/noExplicitAny: maps over any tuple
type PrependTimeoutError<T extends any[]> = {
  [K in keyof T]: T[K] extends (...args: infer P) => infer R ? (err: Error, ...args: P) => R : T[K];
};

/** A broadcast ack collects one answer per receiver: `(err, responses[])`. */
export type DecorateAcknowledgementsWithMultipleResponses<E extends EventsMap> = {
  [K in keyof E]: E[K] extends (...args: infer P) => infer R
    ? (...args: ExpectMultipleResponses<P>) => R
    : E[K];
};
// biome-ignore lint/suspicious/noExplicitAny: maps over any tuple
type ExpectMultipleResponses<T extends any[]> = {
  [K in keyof T]: T[K] extends (...args: infer P) => infer R
    ? P extends [Error, ...infer Rest]
      ? (err: Error, responses: Rest[0][]) => R
      : (err: Error, responses: P[0][]) => R
    : T[K];
};

/**
 * An EventEmitter whose `on/once/off` are typed by a map of user events plus a map of reserved
 * events (emitted only by the library, through `emitReserved`). `emit` stays free for subclasses,
 * which use it to send to the other side.
 */
export class TypedEmitter<Listen extends EventsMap, Reserved extends EventsMap = {}> extends EventEmitter {
  override on<Ev extends EventNames<Listen> | EventNames<Reserved>>(
    ev: Ev,
    listener: ListenerOf<Reserved, Listen, Ev>,
  ): this {
    return super.on(ev, listener);
  }

  override once<Ev extends EventNames<Listen> | EventNames<Reserved>>(
    ev: Ev,
    listener: ListenerOf<Reserved, Listen, Ev>,
  ): this {
    return super.once(ev, listener);
  }

  override off<Ev extends EventNames<Listen> | EventNames<Reserved>>(
    ev: Ev,
    listener: ListenerOf<Reserved, Listen, Ev>,
  ): this {
    return super.off(ev, listener);
  }

  /**
   * Emit a library event (connection, disconnect, ...) to local listeners. Application code: see
   * `callListeners`.
   */
  protected emitReserved<Ev extends EventNames<Reserved>>(
    ev: Ev,
    ...args: EventParams<Reserved, Ev>
  ): boolean {
    return this.callListeners(ev, args);
  }

  /** Emit any event to local listeners, bypassing the types (incoming client events). */
  protected emitUntyped(ev: string, ...args: unknown[]): boolean {
    return this.callListeners(ev, args);
  }

  /**
   * `emitUntyped(...packet)` for a decoded `[event, ...args]` array the caller owns and gives up:
   * the event name is shifted off in place instead of spreading the array twice per packet.
   */
  protected emitPacketArgs(packet: unknown[]): boolean {
    return this.callListeners(packet.shift() as string, packet);
  }

  /**
   * Call each listener of `ev`: one that throws, or returns a promise that rejects (an async
   * handler), is logged, and the others still run. The library's bookkeeping and the application
   * often listen to the same event (disconnect): one failing must not skip another, nor end the
   * process. (Bun's emitter does not apply `captureRejections` to a subclass's `super.emit`.)
   */
  private callListeners(ev: string, args: readonly unknown[]): boolean {
    // One copy of the listener list, so a listener that adds or removes listeners changes nothing here.
    const listeners = this.rawListeners(ev);
    if (listeners.length === 0) return false;
    for (const listener of listeners) {
      let result: unknown;
      try {
        result = (listener as (...a: unknown[]) => unknown).apply(this, args as unknown[]);
      } catch (err) {
        log.error("listener threw", { event: ev, error: err });
        continue;
      }
      watchResult(log, "listener rejected", { event: ev }, result);
    }
    return true;
  }
}

export type MultiAckResult<Ack> = Ack extends (err: Error, responses: infer R) => unknown ? R : never;
