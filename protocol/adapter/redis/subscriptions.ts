/**
 * How a node listens to broadcast channels.
 *
 * - `pattern` (the official adapter's way, kept for parity): one `PSUBSCRIBE socket.io#/nsp#*`.
 *   Every node receives every broadcast of the namespace, for every room, and drops those for rooms
 *   it does not hold: with many rooms spread over many nodes, most of what each node reads is waste.
 * - `rooms` (default): `SUBSCRIBE` to the namespace channel (global and multi-room broadcasts) plus
 *   one channel per room that has a local member, added when the room appears here and dropped
 *   when it empties. A node then reads only the traffic of its own rooms.
 *
 * Both modes read exactly the channels the official adapter and emitter publish on (a one-room
 * broadcast goes to `socket.io#/nsp#ROOM#`), so they are wire-compatible either way.
 */
import type { RawListener, RedisLink } from "./link.ts";
import type { Channels } from "./wire.ts";

export type SubscriptionMode = "pattern" | "rooms";

export interface BroadcastSubscription {
  /** Starts listening; resolves when Redis confirmed the subscription (or at once when Redis is away). */
  open(): Promise<void>;
  /** A room got its first local member; resolves when its channel is subscribed. */
  roomCreated(room: string): Promise<void>;
  roomDeleted(room: string): void;
  close(): void;
}

export function createBroadcastSubscription(
  mode: SubscriptionMode,
  link: RedisLink,
  channels: Channels,
  listener: RawListener,
): BroadcastSubscription {
  if (mode === "pattern") {
    const pattern = `${escapeGlob(channels.broadcast)}*`;
    return {
      open: () => link.pSubscribe(pattern, listener),
      roomCreated: () => Promise.resolve(),
      roomDeleted: () => {},
      close: () => link.pUnsubscribe(pattern),
    };
  }
  return {
    open: () => link.subscribeAndWait([channels.broadcast], listener),
    roomCreated: (room) => link.subscribeAndWait([channels.room(room)], listener),
    roomDeleted: (room) => link.unsubscribe([channels.room(room)]),
    close: () => link.unsubscribe([channels.broadcast]),
  };
}

/** Redis glob patterns treat `* ? [ ] \` specially; a namespace or prefix may contain them. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
