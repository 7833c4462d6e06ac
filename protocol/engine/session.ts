/**
 * One Engine.IO session: its state machine (opening → open ⇄ upgrading → closing → closed), write
 * buffer, heartbeat (one timer), topics, and the polling → websocket upgrade.
 */
import type { Server, ServerWebSocket } from "bun";
import { createLogger } from "../logger.ts";
import type {
  EngineCloseReason,
  EngineHandshakeRequest,
  EngineReceiver,
  EngineSocket,
  EngineSocketEvents,
  EngineSocketState,
  EngineTransport,
  EngineTransportName,
  ForeignWebSocket,
  RawData,
  SendOptions,
} from "./contract.ts";
import { Emitter } from "./emitter.ts";
import { CloseReason, TransportError, WsCloseCode } from "./errors.ts";
import type { ResolvedEngineOptions } from "./options.ts";
import {
  decodeTextPacket,
  describeInPacket,
  describeOutPacket,
  ENCODED_CLOSE,
  ENCODED_NOOP,
  ENCODED_PING,
  ENCODED_PROBE_PING,
  ENCODED_PROBE_PONG,
  encodeMessage,
  type OutPacket,
  outPacketSize,
  PacketType,
} from "./packet.ts";
import { disarm, type TimerEntry, type TimerList, timerList } from "./timer-lists.ts";
import type { PollingTransport } from "./transports/polling.ts";
import type { TransportOwner } from "./transports/transport.ts";
import { SendStatus, WebSocketTransport } from "./transports/websocket.ts";

/**
 * The session's own states. "upgrading" (a websocket probe is attached while polling still carries
 * the traffic) is reported as "open" through the contract's `state`.
 */
export type SessionPhase = "opening" | "open" | "upgrading" | "closing" | "closed";

const log = createLogger("engine");

/** How long a closing polling session waits for a GET to deliver its close packet (engine.io: 30 s). */
const POLLING_CLOSE_TIMEOUT_MS = 30_000;
const UPGRADE_PACKET = "5";
/** engine.io's `socket.protocol`: the engine serves Engine.IO v4 only (engine.ts refuses others). */
const PROTOCOL_REVISION = 4;
/** "4", the first character of a text message packet. */
const MESSAGE_CHAR_CODE = 52;

/** What a session needs from its engine. */
export interface SessionHost {
  readonly opts: ResolvedEngineOptions;
  /** The session is closed: forget it. */
  onSessionClosed(session: EngineSession): void;
  /**
   * The session gained its first (`watching` true) or lost its last `packetCreate` listener: the
   * engine then tells it of the broadcasts it receives natively, which never pass through it.
   */
  watchPackets(session: EngineSession, watching: boolean): void;
  /** A watched session joined or left a topic. */
  watchedTopic(topic: string, session: EngineSession, joined: boolean): void;
  /** Track a polling session's topic membership (websocket ones are native). */
  pollingSubscribe(topic: string, session: EngineSession): void;
  pollingUnsubscribe(topic: string, session: EngineSession): void;
  /** A websocket session exists: native publishes must be watched for slow clients. */
  onWebSocketSession(): void;
  /** A native publish to `topic` went out earlier in this event-loop turn (volatile's `writable`). */
  publishedThisTurn(topic: string): boolean;
}

/** Data Bun keeps on each websocket the engine accepted. */
export interface EngineWsData {
  /** The session the socket carries, or probes for (null until `open` for a websocket handshake). */
  session: EngineSession | null;
  /** Set for a websocket handshake: the session to create when the socket opens. */
  handshake: { id: string; request: EngineHandshakeRequest } | null;
  /** The Bun server the socket belongs to (a publish from this socket reaches that server's subscribers). */
  server: Server<EngineWsData>;
  /** Set (and `session` stays null) for a socket accepted on behalf of a relay: its events go there. */
  relay?: ForeignWebSocket;
}

type AnyTransport = PollingTransport | WebSocketTransport<EngineWsData>;

/** A websocket probing a polling session for an upgrade (rare, so one object rather than fields). */
interface UpgradeProbe {
  readonly transport: WebSocketTransport<EngineWsData>;
  readonly timer: ReturnType<typeof setTimeout>;
  /** The probe answered `2probe`: the client is pausing polling, so polls get a noop at once. */
  confirmed: boolean;
}

/** Packets waiting for the transport (polling, or a websocket mid-upgrade or closing). */
interface WriteBuffer {
  readonly packets: OutPacket[];
  bytes: number;
  /** Some packet of the buffer asked for compression. */
  compress: boolean;
}

/**
 * Where the heartbeat stands: the next ping is due ("ping-due"); a ping went out and its pong is
 * awaited; or awaited after another packet extended the wait (engine.io extends it once).
 */
type HeartbeatPhase = "ping-due" | "awaiting-pong" | "pong-wait-extended";

function upgradeTimeoutTick(session: EngineSession): void {
  session.abortUpgrade();
}

export class EngineSession
  extends Emitter<EngineSocketEvents>
  implements EngineSocket, TransportOwner, TimerEntry
{
  private phase: SessionPhase = "opening";
  private receiver: EngineReceiver | null = null;
  /** The transport carrying the session now (`transport` shows it to users). */
  private current: AnyTransport;
  // Sessions are many and mostly idle: what few of them use (an upgrade probe, a write buffer) is
  // one object or null rather than fields on every session (18 fields fit Bun's 160-byte cell, 22
  // took 224).
  /** The websocket being probed for an upgrade. */
  private upgrade: UpgradeProbe | null = null;
  /** The write buffer; null while empty (it usually is: most sessions write straight to a websocket). */
  private buffer: WriteBuffer | null = null;
  /**
   * The session's one deadline (the next ping, the pong wait, or a closing polling session's wait)
   * is an entry in a shared list (timer-lists.ts), not a timer of its own: these four fields are
   * the list's links, read and written only by it.
   */
  /** @internal */ timerList: TimerList | null = null;
  /** @internal */ timerPrev: TimerEntry | null = null;
  /** @internal */ timerNext: TimerEntry | null = null;
  /** @internal */ timerDue = 0;
  private heartbeat: HeartbeatPhase = "ping-due";
  /**
   * Topics joined: one topic is kept as the string itself (a Socket.IO socket usually joins only
   * its own room), a Set from the second one on.
   */
  private topics: string | Set<string> | null = null;
  private closeReason: EngineCloseReason = CloseReason.FORCED_CLOSE;
  /** The engine reports native broadcasts to this session (it has a `packetCreate` listener). */
  private watched = false;

  constructor(
    readonly id: string,
    readonly request: EngineHandshakeRequest,
    /** The websocket transport, or how to make a polling one (it needs its owner, the session). */
    transport: ((owner: TransportOwner) => PollingTransport) | WebSocketTransport<EngineWsData>,
    private readonly host: SessionHost,
  ) {
    super();
    this.current = typeof transport === "function" ? transport(this) : transport;
  }

  get state(): EngineSocketState {
    return this.phase === "upgrading" ? "open" : this.phase;
  }

  get readyState(): EngineSocketState {
    return this.state;
  }

  get protocol(): 4 {
    return PROTOCOL_REVISION;
  }

  get remoteAddress(): string {
    return this.request.remoteAddress;
  }

  get upgrading(): boolean {
    return this.upgrade !== null;
  }

  /** Derived rather than stored: a session on a websocket that was not opened on one upgraded. */
  get upgraded(): boolean {
    return this.current.name === "websocket" && this.request.query.get("transport") === "polling";
  }

  /** The session's own state, including "upgrading". */
  get sessionPhase(): SessionPhase {
    return this.phase;
  }

  get transportName(): EngineTransportName {
    return this.current.name;
  }

  get transport(): EngineTransport {
    return this.current;
  }

  /**
   * A send now would be written at once, as engine.io's `transport.writable` says (volatile packets
   * are dropped otherwise): a poll is waiting; or the websocket has nothing queued in Bun and was
   * written to in no earlier part of this event-loop turn, neither directly nor by a native publish
   * to one of its topics (engine.io's websocket stays unwritable until the send calls back).
   */
  get writable(): boolean {
    if (this.phase !== "open" && this.phase !== "upgrading") return false;
    const transport = this.current;
    if (transport.name !== "websocket") return transport.writable;
    if (!transport.writable || transport.busy || transport.ws.getBufferedAmount() !== 0) return false;
    for (const topic of this.topicList()) if (this.host.publishedThisTurn(topic)) return false;
    return true;
  }

  /** The polling transport while the session polls (the engine routes GET and POST to it). */
  get pollingTransport(): PollingTransport | null {
    return this.current.name === "polling" ? this.current : null;
  }

  /** The websocket to publish from when this session is the `except` of a publish. */
  get nativeSocket(): ServerWebSocket<EngineWsData> | null {
    return this.phase === "open" && this.current.name === "websocket" ? this.current.ws : null;
  }

  /** Sends the open packet and starts the heartbeat. `upgrades` are the transports it may move to. */
  open(upgrades: readonly EngineTransportName[]): void {
    if (this.phase !== "opening") return;
    this.phase = "open";
    const { pingInterval, pingTimeout, maxHttpBufferSize } = this.host.opts;
    const handshake = JSON.stringify({
      sid: this.id,
      upgrades,
      pingInterval,
      pingTimeout,
      maxPayload: maxHttpBufferSize,
    });
    if (log.debugEnabled) log.debug("session opened", { sid: this.id, transport: this.current.name });
    this.sendPacket(`0${handshake}`, false);
    const initial = this.host.opts.initialPacket;
    if (initial !== undefined) this.send(initial);
    timerList(pingInterval).arm(this);
    if (this.current.name === "websocket") this.host.onWebSocketSession();
  }

  // ── outgoing ────────────────────────────────────────────────────────────────────────────────

  send(data: RawData, options?: SendOptions): void {
    this.sendPacket(encodeMessage(data), options?.compress !== false);
  }

  sendMany(data: readonly RawData[], options?: SendOptions): void {
    if (data.length === 0) return;
    this.sendEncoded(data.map(encodeMessage), options?.compress !== false);
  }

  /** Queues packets that are already encoded (a publish encodes once for every receiver). */
  sendEncoded(packets: readonly OutPacket[], compress: boolean): void {
    if (this.phase === "closing" || this.phase === "closed") return;
    if (this.hasListener("packetCreate")) this.reportCreated(packets, compress);
    if (this.canWriteDirectly()) {
      this.writeAllDirect(packets, compress);
      return;
    }
    for (const packet of packets) if (!this.enqueue(packet, compress)) return;
    this.flush();
  }

  private sendPacket(packet: OutPacket, compress: boolean): void {
    if (this.phase === "closing" || this.phase === "closed") return;
    if (this.hasListener("packetCreate")) this.emit("packetCreate", describeOutPacket(packet, compress));
    if (this.canWriteDirectly()) {
      this.writeDirect(packet, compress);
      return;
    }
    if (this.enqueue(packet, compress)) this.flush();
  }

  /**
   * `packetCreate` for packets sent to this session: its own sends, and the broadcasts it receives
   * through a native publish (the engine calls this for those, see `watchPackets`).
   */
  reportCreated(packets: readonly OutPacket[], compress: boolean): void {
    for (const packet of packets) this.emit("packetCreate", describeOutPacket(packet, compress));
  }

  /** A websocket session with nothing queued writes straight to the socket: the hot path. */
  private canWriteDirectly(): boolean {
    return this.current.name === "websocket" && this.phase === "open" && this.buffer === null;
  }

  /** Writes one frame to the websocket; false when that closed the session as a slow client. */
  private writeDirect(packet: OutPacket, compress: boolean): boolean {
    const ws = this.current as WebSocketTransport<EngineWsData>;
    if (ws.write(packet, compress) === SendStatus.OVER_LIMIT) {
      this.closeSlowClient();
      return false;
    }
    this.emit("drain");
    return true;
  }

  /** Writes frames in order, stopping when one closed the session as a slow client. */
  private writeAllDirect(packets: readonly OutPacket[], compress: boolean): void {
    for (const packet of packets) if (!this.writeDirect(packet, compress)) return;
  }

  /** Adds to the write buffer; false when the buffer went over the limit (the session is then closed). */
  private enqueue(packet: OutPacket, compress: boolean): boolean {
    this.buffer ??= { packets: [], bytes: 0, compress: false };
    const buffer = this.buffer;
    buffer.packets.push(packet);
    buffer.bytes += outPacketSize(packet);
    if (compress) buffer.compress = true;
    if (buffer.bytes > this.host.opts.maxBufferedBytes) {
      this.closeSlowClient();
      return false;
    }
    return true;
  }

  /** Hands the write buffer to the transport when it can take it. */
  private flush(): void {
    const buffer = this.buffer;
    if (this.phase === "closed" || buffer === null || !this.current.writable) return;
    const { packets, compress } = buffer;
    this.buffer = null;
    if (this.current.name === "websocket") {
      this.writeAllDirect(packets, compress);
      return;
    }
    this.current.send(packets, compress);
    this.emit("drain");
  }

  // ── incoming ────────────────────────────────────────────────────────────────────────────────

  /** A frame on this session's main websocket. */
  onWebSocketFrame(message: string | Uint8Array): void {
    if (typeof message !== "string") {
      this.onPacket(PacketType.MESSAGE, message);
      return;
    }
    // The hot path: a message packet needs no decoding beyond its first character.
    if (message.charCodeAt(0) === MESSAGE_CHAR_CODE) {
      this.onPacket(PacketType.MESSAGE, message.slice(1));
      return;
    }
    const packet = decodeTextPacket(message);
    if (packet.type === PacketType.CLOSE) {
      this.onTransportClose();
      return;
    }
    this.onPacket(packet.type, packet.data);
  }

  onPacket(type: PacketType | -1, data: RawData): void {
    if (this.phase !== "open" && this.phase !== "upgrading") return;
    if (this.hasListener("packet")) this.emit("packet", describeInPacket(type, data));
    // Any packet proves the client alive: extend the pong wait once, as engine.io does.
    if (this.heartbeat === "awaiting-pong" && type !== PacketType.PONG) {
      this.timerList?.arm(this);
      this.heartbeat = "pong-wait-extended";
    }
    switch (type) {
      case PacketType.MESSAGE:
        this.receiver?.onEngineMessage(data);
        this.emit("data", data);
        this.emit("message", data);
        return;
      case PacketType.PONG:
        if (this.heartbeat === "ping-due") return;
        this.heartbeat = "ping-due";
        this.restartTimer(this.host.opts.pingInterval);
        this.emit("heartbeat");
        return;
      case PacketType.PING:
        // In v4 only the server pings.
        this.finalize(CloseReason.TRANSPORT_ERROR, new Error(TransportError.INVALID_HEARTBEAT_DIRECTION));
        return;
      case PacketType.CLOSE:
        this.onTransportClose();
        return;
      case -1:
        this.finalize(CloseReason.PARSE_ERROR);
        return;
      default:
        // open, upgrade and noop carry nothing for an open session.
        return;
    }
  }

  onTransportError(description: string): void {
    this.finalize(CloseReason.TRANSPORT_ERROR, new Error(description));
  }

  onTransportClose(): void {
    this.finalize(CloseReason.TRANSPORT_CLOSE);
  }

  onPollReady(): void {
    if (this.phase === "closing") {
      this.deliverPollingClose(true);
      return;
    }
    if (this.phase === "upgrading" && this.upgrade?.confirmed && this.buffer === null) {
      // The client is switching: end its poll at once instead of holding it for a ping interval.
      this.current.send([ENCODED_NOOP], false);
      return;
    }
    this.flush();
  }

  // ── heartbeat ───────────────────────────────────────────────────────────────────────────────

  /** @internal The session's deadline passed: ping, ping timeout, or the end of a polling close. */
  onTimer(): void {
    if (this.phase === "closing") {
      this.finalize(this.closeReason);
      return;
    }
    if (this.phase !== "open" && this.phase !== "upgrading") return;
    if (this.heartbeat !== "ping-due") {
      this.finalize(CloseReason.PING_TIMEOUT);
      return;
    }
    this.heartbeat = "awaiting-pong";
    this.restartTimer(this.host.opts.pingTimeout);
    this.sendPacket(ENCODED_PING, false);
  }

  private restartTimer(ms: number): void {
    timerList(ms).arm(this);
  }

  // ── upgrade ─────────────────────────────────────────────────────────────────────────────────

  /** True when the session already runs over a websocket or is probing one. */
  hasWebSocket(): boolean {
    return this.current.name === "websocket" || this.upgrade !== null;
  }

  /** True when a websocket may start probing this session for an upgrade. */
  canUpgrade(): boolean {
    return this.phase === "open" && this.current.name === "polling" && this.upgrade === null;
  }

  /** A websocket with this session's id connected: it probes until the client sends `5`. */
  attachProbe(ws: ServerWebSocket<EngineWsData>): boolean {
    if (!this.canUpgrade()) return false;
    this.phase = "upgrading";
    this.upgrade = {
      transport: new WebSocketTransport(ws, this.host.opts.maxBufferedBytes),
      timer: setTimeout(upgradeTimeoutTick, this.host.opts.upgradeTimeout, this),
      confirmed: false,
    };
    return true;
  }

  /** A frame on a websocket of this session: the main transport, or the upgrade probe. */
  onWebSocketMessage(ws: ServerWebSocket<EngineWsData>, message: string | Uint8Array): void {
    if (this.current.name === "websocket" && this.current.ws === ws) {
      this.onWebSocketFrame(message);
      return;
    }
    const upgrade = this.upgrade;
    if (upgrade?.transport.ws !== ws) {
      ws.close(WsCloseCode.UPGRADE_FAILED);
      return;
    }
    if (message === ENCODED_PROBE_PING) {
      upgrade.confirmed = true;
      upgrade.transport.write(ENCODED_PROBE_PONG, false);
      if (this.current.writable && this.buffer === null) this.current.send([ENCODED_NOOP], false);
      this.emit("upgrading", upgrade.transport);
      return;
    }
    if (message === UPGRADE_PACKET) {
      this.completeUpgrade();
      return;
    }
    // Anything else before the upgrade packet is a broken client: drop the probe, keep polling.
    this.abortUpgrade();
  }

  /**
   * The client sent `5`: the websocket becomes the transport. What was queued for polling is written
   * first, then the topics move to native subscriptions, all in this one synchronous step so no
   * send or publish can slip in between. A session closed while the client was switching delivers
   * its queue over the websocket the client now uses, then closes it (as engine.io does).
   */
  private completeUpgrade(): void {
    const probe = this.upgrade?.transport;
    if (probe === undefined || (this.phase !== "upgrading" && this.phase !== "closing")) return;
    this.clearProbe();
    const polling = this.current as PollingTransport;
    this.current = probe;
    polling.discard();
    if (this.phase === "closing") {
      this.flush();
      this.finalize(this.closeReason);
      return;
    }
    this.phase = "open";
    this.flush();
    // The flush can close a client that cannot take its backlog.
    if (this.phase !== "open") return;
    if (this.topics !== null) {
      for (const topic of this.topicList()) {
        probe.ws.subscribe(topic);
        this.host.pollingUnsubscribe(topic, this);
      }
    }
    this.host.onWebSocketSession();
    if (log.debugEnabled) log.debug("session upgraded", { sid: this.id });
    this.emit("upgrade", probe);
  }

  /** Drops a pending upgrade probe (timeout, bad frame, or the session closing). */
  abortUpgrade(): void {
    const probe = this.upgrade?.transport;
    if (probe === undefined) return;
    this.clearProbe();
    if (this.phase === "upgrading") this.phase = "open";
    probe.close(WsCloseCode.UPGRADE_FAILED);
    this.endCloseWithoutProbe();
  }

  /**
   * A closing session kept its confirmed probe because the client paused polling to switch: once
   * the probe is gone no poll will come to carry the close packet, so the close ends now.
   */
  private endCloseWithoutProbe(): void {
    if (this.phase === "closing") this.finalize(this.closeReason);
  }

  private clearProbe(): void {
    if (this.upgrade !== null) clearTimeout(this.upgrade.timer);
    this.upgrade = null;
  }

  /**
   * A websocket of this session closed (the main transport or a probe). Bun reports its own
   * protocol failures (frame too big, invalid UTF-8) as 1006 with a reason, a dropped connection as
   * 1006 without one.
   */
  onWebSocketClose(ws: ServerWebSocket<EngineWsData>, code: number, reason: string): void {
    if (this.upgrade?.transport.ws === ws) {
      this.clearProbe();
      if (this.phase === "upgrading") this.phase = "open";
      this.endCloseWithoutProbe();
      return;
    }
    if (this.current.name !== "websocket" || this.current.ws !== ws) return;
    const failed =
      code === WsCloseCode.MESSAGE_TOO_BIG ||
      code === WsCloseCode.INVALID_PAYLOAD ||
      (code === WsCloseCode.ABNORMAL && reason !== "");
    if (failed)
      this.finalize(CloseReason.TRANSPORT_ERROR, new Error(reason || TransportError.WEBSOCKET_ERROR));
    else this.finalize(CloseReason.TRANSPORT_CLOSE);
  }

  /** Bun flushed a backpressured websocket: tell listeners waiting to write again. */
  onWebSocketDrain(ws: ServerWebSocket<EngineWsData>): void {
    if (this.phase === "open" && this.current.name === "websocket" && this.current.ws === ws) {
      this.emit("drain");
    }
  }

  // ── listeners ───────────────────────────────────────────────────────────────────────────────

  override on<E extends keyof EngineSocketEvents & string>(event: E, listener: EngineSocketEvents[E]): this {
    super.on(event, listener);
    if (event === "packetCreate") this.updateWatch();
    return this;
  }

  override off<E extends keyof EngineSocketEvents & string>(
    event: E,
    listener?: EngineSocketEvents[E],
  ): this {
    super.off(event, listener);
    if (event === "packetCreate") this.updateWatch();
    return this;
  }

  override removeAllListeners(event?: keyof EngineSocketEvents & string): this {
    super.removeAllListeners(event);
    this.updateWatch();
    return this;
  }

  /** Tells the engine whether broadcasts to this session must be reported as `packetCreate`. */
  private updateWatch(): void {
    const wanted = this.phase !== "closed" && this.hasListener("packetCreate");
    if (wanted === this.watched) return;
    this.watched = wanted;
    this.host.watchPackets(this, wanted);
  }

  // ── the layer above ─────────────────────────────────────────────────────────────────────────

  setReceiver(receiver: EngineReceiver | null): void {
    this.receiver = receiver;
  }

  // ── topics ──────────────────────────────────────────────────────────────────────────────────

  subscribe(topic: string): void {
    if (this.phase === "closing" || this.phase === "closed") return;
    const topics = this.topics;
    if (topics === null) this.topics = topic;
    else if (typeof topics === "string") {
      if (topics === topic) return;
      this.topics = new Set([topics, topic]);
    } else {
      if (topics.has(topic)) return;
      topics.add(topic);
    }
    if (this.current.name === "websocket") this.current.ws.subscribe(topic);
    else this.host.pollingSubscribe(topic, this);
    if (this.watched) this.host.watchedTopic(topic, this, true);
  }

  unsubscribe(topic: string): void {
    if (!this.forgetTopic(topic) || this.phase === "closed") return;
    if (this.watched) this.host.watchedTopic(topic, this, false);
    if (this.current.name === "websocket") this.current.ws.unsubscribe(topic);
    else this.host.pollingUnsubscribe(topic, this);
  }

  /**
   * Native publishes bypass `writeDirect`, so the engine asks each websocket session after them:
   * one over the limit is closed as a slow client.
   */
  enforceBufferLimit(): void {
    if (this.phase === "open" && this.current.name === "websocket" && this.current.overLimit()) {
      this.closeSlowClient();
    }
  }

  // ── closing ─────────────────────────────────────────────────────────────────────────────────

  /**
   * Closes the session. A websocket writes its queue and closes at once. Polling delivers what is
   * queued with the next GET and the close packet with the GET after it (each waited for up to
   * 30 s). Mid-upgrade, a probe that has not answered `2probe` is dropped (the client still polls);
   * a confirmed one is kept, since the client paused polling for it: its `5` completes the switch,
   * the queue goes over the websocket and the websocket closes; the probe closing or missing
   * `upgradeTimeout` ends the session at once.
   */
  close(reason: EngineCloseReason = CloseReason.FORCED_CLOSE): void {
    if (this.phase !== "open" && this.phase !== "upgrading") return;
    if (!this.upgrade?.confirmed) this.abortUpgrade();
    if (this.current.name === "websocket") {
      this.flush();
      this.finalize(reason);
      return;
    }
    this.phase = "closing";
    this.closeReason = reason;
    // A closing session takes no more publishes: it must not count as a subscriber either.
    for (const topic of this.topicList()) this.host.pollingUnsubscribe(topic, this);
    this.restartTimer(POLLING_CLOSE_TIMEOUT_MS);
    if (this.current.writable) this.deliverPollingClose(false);
  }

  /**
   * A closing polling session answers a GET. What was queued goes alone; the close packet waits for
   * the next poll (as engine.io does: the stock client acts on a close packet at once but hands the
   * packets decoded before it to its sockets a tick later, so in one answer they would arrive after
   * the close). A GET that was already waiting when the session closed gets `1`; a poll that came
   * after gets `6␞1`, engine.io's "empty send to append the close packet".
   */
  private deliverPollingClose(pollCameAfterClose: boolean): void {
    if (this.buffer !== null) {
      this.flush();
      this.restartTimer(POLLING_CLOSE_TIMEOUT_MS);
      return;
    }
    this.current.send(pollCameAfterClose ? [ENCODED_NOOP, ENCODED_CLOSE] : [ENCODED_CLOSE], false);
    this.finalize(this.closeReason);
  }

  /** Closes at once without waiting for a poll (server shutdown). */
  terminate(reason: EngineCloseReason): void {
    if (this.phase === "closed") return;
    if (this.current.name === "polling" && this.current.writable) {
      const buffer = this.buffer;
      this.current.send([...(buffer?.packets ?? []), ENCODED_CLOSE], buffer?.compress ?? false);
    }
    this.finalize(reason);
  }

  private closeSlowClient(): void {
    this.finalize(CloseReason.SLOW_CLIENT, undefined, WsCloseCode.SLOW_CLIENT);
  }

  /**
   * The one place a session becomes closed: timers stopped, transports ended, listeners told. The
   * phase changes first because Bun runs the websocket close handler inside `ws.close()`.
   */
  private finalize(
    reason: EngineCloseReason,
    description?: unknown,
    wsCode: number = WsCloseCode.NORMAL,
  ): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    disarm(this);
    this.abortUpgrade();
    if (this.current.name === "websocket") {
      this.current.close(wsCode, wsCode === WsCloseCode.SLOW_CLIENT ? CloseReason.SLOW_CLIENT : undefined);
    } else this.current.close();
    this.buffer = null;
    if (this.watched) {
      this.watched = false;
      this.host.watchPackets(this, false);
    }
    this.host.onSessionClosed(this);
    if (log.debugEnabled) log.debug("session closed", { sid: this.id, reason, description });
    const receiver = this.receiver;
    this.receiver = null;
    receiver?.onEngineClose(reason, description);
    this.emit("close", reason, description);
  }

  /** Topics of this session (the engine drops polling memberships on close). */
  topicList(): Iterable<string> {
    const topics = this.topics;
    if (topics === null) return [];
    return typeof topics === "string" ? [topics] : topics;
  }

  /** Removes `topic`; false when the session was not in it. */
  private forgetTopic(topic: string): boolean {
    const topics = this.topics;
    if (topics === null) return false;
    if (typeof topics === "string") {
      if (topics !== topic) return false;
      this.topics = null;
      return true;
    }
    return topics.delete(topic);
  }
}
