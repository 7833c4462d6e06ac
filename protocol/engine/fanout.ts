/**
 * Encode-once fan-out of publishes: websocket subscribers through Bun's native pub/sub, polling
 * subscribers through their queues, and the watch that closes websocket subscribers whose send
 * buffer a native publish pushed past the limit (native publishes cannot report per receiver).
 */
import type { Server } from "bun";
import type { PublishOptions, RawData } from "./contract.ts";
import { encodeMessage, type OutPacket, outPacketSize } from "./packet.ts";
import type { EngineSession, EngineWsData } from "./session.ts";
import { worthCompressing } from "./transports/websocket.ts";
import { currentTurn, markWrite } from "./turn.ts";

/** Topics whose last publish turn is kept before the map is emptied at a turn boundary. */
const MAX_REMEMBERED_TOPICS = 4096;

export interface FanoutOptions {
  /** A websocket subscriber's send buffer above this is a slow client. */
  maxBufferedBytes: number;
  /** Period of the send-buffer check after native publishes, in milliseconds. */
  backpressureCheckInterval: number;
}

export class Fanout {
  /** Polling sessions by topic (websocket sessions are subscribed natively). */
  private readonly pollingTopics = new Map<string, Set<EngineSession>>();
  /**
   * Sessions with a `packetCreate` listener, by topic: a native publish never passes through a
   * session, so these are told of it one by one. Empty unless someone listens (the admin UI does).
   */
  private readonly watchedTopics = new Map<string, Set<EngineSession>>();
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  private publishedSinceSweep = false;
  /** Bytes natively published since the last check (what one receiver may have had to take). */
  private publishedBytes = 0;
  private sweepQueued = false;
  /** The turn of the last native publish, and each topic's last native publish turn (see turn.ts). */
  private nativeTurn = -1;
  private readonly nativeTopicTurns = new Map<string, number>();

  constructor(
    private readonly opts: FanoutOptions,
    /** The Bun servers that carry the websockets (usually one; none before the first upgrade). */
    private readonly servers: () => readonly Server<EngineWsData>[],
    /** Every open session, for the send-buffer check. */
    private readonly sessions: () => Iterable<EngineSession>,
  ) {}

  publish(topic: string, data: RawData | readonly RawData[], options?: PublishOptions): void {
    const compress = options?.compress !== false;
    const except = options?.except as EngineSession | undefined;
    if (typeof data === "string" || data instanceof Uint8Array) {
      // The usual broadcast: one frame, encoded once, and no array built unless a polling or
      // watching session needs the packet list.
      const frame = encodeMessage(data);
      const servers = this.servers();
      if (servers.length > 0) {
        this.publishNative(servers, topic, frame, compress, except);
        this.notePublished(topic, outPacketSize(frame));
        if (this.watchedTopics.size > 0) this.reportNative(topic, [frame], compress, except);
      }
      const polling = this.pollingTopics.get(topic);
      if (polling) this.publishPolling(polling, [frame], compress, except);
      return;
    }
    if (data.length === 0) return;
    const encoded: OutPacket[] = data.map(encodeMessage);
    const servers = this.servers();
    if (servers.length > 0) {
      let bytes = 0;
      for (const frame of encoded) {
        this.publishNative(servers, topic, frame, compress, except);
        bytes += outPacketSize(frame);
      }
      this.notePublished(topic, bytes);
      if (this.watchedTopics.size > 0) this.reportNative(topic, encoded, compress, except);
    }
    const polling = this.pollingTopics.get(topic);
    if (polling) this.publishPolling(polling, encoded, compress, except);
  }

  private publishPolling(
    polling: Set<EngineSession>,
    encoded: readonly OutPacket[],
    compress: boolean,
    except: EngineSession | undefined,
  ): void {
    // Deleting the visited entry (a slow client closing) is safe while iterating a Set.
    for (const session of polling) if (session !== except) session.sendEncoded(encoded, compress);
  }

  /** `packetCreate` on the watched websocket sessions a native publish reached (polling ones report their own). */
  private reportNative(
    topic: string,
    encoded: readonly OutPacket[],
    compress: boolean,
    except: EngineSession | undefined,
  ): void {
    const watched = this.watchedTopics.get(topic);
    if (!watched) return;
    for (const session of watched) {
      if (session !== except && session.nativeSocket !== null) session.reportCreated(encoded, compress);
    }
  }

  private publishNative(
    servers: readonly Server<EngineWsData>[],
    topic: string,
    frame: OutPacket,
    compress: boolean,
    except: EngineSession | undefined,
  ): void {
    const deflate = compress && worthCompressing(frame);
    if (except === undefined) {
      for (let i = 0; i < servers.length; i++) servers[i]!.publish(topic, frame, deflate);
      return;
    }
    // Publishing from the excluded session's own socket skips it natively (on its own server).
    const from = except.nativeSocket;
    const fromServer = from?.data.server ?? null;
    for (const server of servers) {
      if (server === fromServer) from!.publish(topic, frame, deflate);
      else server.publish(topic, frame, deflate);
    }
  }

  /** After the native publishes of one packet: the send-buffer watch and this turn's topics. */
  private notePublished(topic: string, bytes: number): void {
    this.publishedBytes += bytes;
    this.publishedSinceSweep = true;
    this.noteNativePublish(topic);
    // A burst this large may have pushed a subscriber past Bun's hard limit (frames dropped): check
    // right after it, before the event loop lets that socket drain and hide it.
    if (this.publishedBytes >= this.opts.maxBufferedBytes && !this.sweepQueued) {
      this.sweepQueued = true;
      queueMicrotask(() => this.sweep());
    }
  }

  /**
   * Remember that `topic` was published natively in this turn. Each topic keeps the turn of its
   * last native publish, so a new turn needs no clearing; the map is emptied at a turn boundary
   * (where no entry is current) once it holds more topics than are worth keeping.
   */
  private noteNativePublish(topic: string): void {
    const turn = markWrite();
    if (turn !== this.nativeTurn) {
      this.nativeTurn = turn;
      if (this.nativeTopicTurns.size > MAX_REMEMBERED_TOPICS) this.nativeTopicTurns.clear();
    }
    this.nativeTopicTurns.set(topic, turn);
  }

  /** A native publish to `topic` reached its websocket subscribers earlier in this turn. */
  publishedThisTurn(topic: string): boolean {
    return this.nativeTopicTurns.get(topic) === currentTurn();
  }

  subscriberCount(topic: string): number {
    let native = 0;
    for (const server of this.servers()) native += server.subscriberCount(topic);
    return native + (this.pollingTopics.get(topic)?.size ?? 0);
  }

  subscribePolling(topic: string, session: EngineSession): void {
    let set = this.pollingTopics.get(topic);
    if (!set) {
      set = new Set();
      this.pollingTopics.set(topic, set);
    }
    set.add(session);
  }

  unsubscribePolling(topic: string, session: EngineSession): void {
    const set = this.pollingTopics.get(topic);
    if (!set?.delete(session)) return;
    if (set.size === 0) this.pollingTopics.delete(topic);
  }

  /** `session` gained (`watching`) or lost its `packetCreate` listeners: index or drop its topics. */
  watchPackets(session: EngineSession, watching: boolean): void {
    for (const topic of session.topicList()) this.watchTopic(topic, session, watching);
  }

  watchTopic(topic: string, session: EngineSession, joined: boolean): void {
    let set = this.watchedTopics.get(topic);
    if (joined) {
      if (!set) {
        set = new Set();
        this.watchedTopics.set(topic, set);
      }
      set.add(session);
    } else if (set?.delete(session) && set.size === 0) this.watchedTopics.delete(topic);
  }

  /** A websocket session exists: start the periodic send-buffer check. */
  watchWebSockets(): void {
    if (this.sweepTimer !== null) return;
    // The Fanout as the timer's argument, not a closure: every websocket session calls this, and
    // a closure here cost a scope object per call even once the timer runs.
    this.sweepTimer = setInterval(sweepTick, this.opts.backpressureCheckInterval, this);
    this.sweepTimer.unref();
  }

  /** @internal The sweep timer fired. */
  _sweepTick(): void {
    this.sweep();
  }

  stop(): void {
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  /** After native publishes, close websocket sessions whose send buffer is past the limit. */
  private sweep(): void {
    this.sweepQueued = false;
    if (!this.publishedSinceSweep) return;
    this.publishedSinceSweep = false;
    this.publishedBytes = 0;
    // A closed session deletes its own entry, which a Map iteration tolerates: no copy needed.
    for (const session of this.sessions()) session.enforceBufferLimit();
  }
}

function sweepTick(fanout: Fanout): void {
  fanout._sweepTick();
}
