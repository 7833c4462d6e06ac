/**
 * One engine session seen from Socket.IO: decodes its frames into packets (one decoder per
 * connection, so binary attachments reassemble in order), routes them to the socket of each
 * namespace it joined, and writes encoded packets back. Closes a session that never joins a
 * namespace within connectTimeout, and one that sends a malformed packet ("parse error").
 */

import type { WriteOptions } from "../adapter/host.ts";
import type { EngineCloseReason, EngineReceiver, EngineSocket, RawData } from "../engine/contract.ts";
import { createLogger } from "../logger.ts";
import { type RequestSummary, summarizeRequest } from "./handshake.ts";
import { type FrameDecoder, type Packet, PacketType } from "./packet-codec.ts";
import { type DisconnectReason, DisconnectReasons, ErrorMessages } from "./reasons.ts";
import type { AnyServer, AnySocket } from "./server-types.ts";

const log = createLogger("socketio");

export class Client implements EngineReceiver {
  /** See `request`: built at the first read, as most connections never read their handshake. */
  private summary: RequestSummary | null = null;
  /**
   * Every connected socket this session created. Nearly every connection has exactly one, so that
   * one is a plain field and an array exists only for more (multiplexing, or several CONNECTs for
   * one namespace): per-connection Maps were a measurable share of the memory of an idle connection.
   * As socket.io's Client keeps all of them (its `sockets` map), all of them close with the session,
   * even when one namespace got several (CONNECTs sent while the first was still in a middleware).
   */
  private first: AnySocket | null = null;
  /** The sockets after the first, in the order they connected. */
  private others: AnySocket[] | null = null;
  /**
   * Created at the first frame the codec cannot decode on its own (with the default parser: a
   * binary packet and its attachments; with a custom parser: the first frame), then used for every
   * frame so reassembly stays in order. A text-only connection on the default parser never
   * allocates one.
   */
  private decoder: FrameDecoder | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly server: AnyServer,
    readonly conn: EngineSocket,
  ) {
    conn.setReceiver(this);
    // No closure: the timer's argument is the client (a closure was a scope and a function per connection).
    this.connectTimer = setTimeout(connectTimeoutPassed, server.opts.connectTimeout, this);
  }

  /** @internal The connect timeout passed (it is cleared once a namespace is joined). */
  _connectTimeoutPassed(): void {
    if (this.first === null) this.close();
  }

  get id(): string {
    return this.conn.id;
  }

  /** The handshake request, summarized once for every namespace this connection joins. */
  get request(): RequestSummary {
    this.summary ??= summarizeRequest(this.conn.request);
    return this.summary;
  }

  /** Encode and write one packet. */
  writePacket(packet: Packet, opts: WriteOptions = {}): void {
    if (this.conn.state !== "open") return;
    this.writeToEngine(this.server._codec.encode(packet), opts);
  }

  /** Write already-encoded frames (adapters encode a broadcast once and call this per receiver). */
  writeToEngine(frames: readonly RawData[], opts: WriteOptions): void {
    if (opts.volatile && !this.conn.writable) return;
    const sendOpts = opts.compress === false ? { compress: false } : undefined;
    if (frames.length === 1) this.conn.send(frames[0]!, sendOpts);
    else this.conn.sendMany(frames, sendOpts);
  }

  /** Every connected socket of this session, in the order they connected. */
  get sockets(): AnySocket[] {
    const all: AnySocket[] = this.first === null ? [] : [this.first];
    if (this.others !== null) for (const socket of this.others) all.push(socket);
    return all;
  }

  /**
   * The socket that receives the packets of namespace `name`: the one that connected last, as
   * socket.io's `nsps` map (overwritten at each connect) routes them.
   */
  private socketOf(name: string): AnySocket | undefined {
    const others = this.others;
    if (others !== null) {
      for (let i = others.length - 1; i >= 0; i--) if (others[i]!.nsp.name === name) return others[i];
    }
    if (this.first !== null && this.first.nsp.name === name) return this.first;
    return undefined;
  }

  /** Disconnect every namespace, then close the connection. */
  disconnect(): void {
    for (const socket of this.sockets) socket.disconnect();
    this.first = null;
    this.others = null;
    this.close();
  }

  /** @internal A socket left its namespace. */
  remove(socket: AnySocket): void {
    const others = this.others;
    if (this.first === socket) {
      // Promote the next socket, so `first` is empty only when no socket is left.
      this.first = others?.shift() ?? null;
    } else if (others !== null) {
      const i = others.indexOf(socket);
      if (i >= 0) others.splice(i, 1);
    }
    if (this.others?.length === 0) this.others = null;
  }

  /** @internal EngineReceiver: a message of the session. */
  onEngineMessage(data: RawData): void {
    try {
      if (this.decoder === null) {
        const packet = this.server._codec.decodeStandalone(data);
        if (packet !== undefined) {
          this.ondecoded(packet);
          return;
        }
        this.decoder = this.createDecoder();
      }
      this.decoder.add(data);
    } catch (err) {
      this.onerror(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Apart from `onEngineMessage` because of its closure (a scope object at every call of the function holding it). */
  private createDecoder(): FrameDecoder {
    return this.server._codec.createDecoder((p) => this.ondecoded(p));
  }

  /** @internal EngineReceiver: the session closed. */
  onEngineClose(reason: EngineCloseReason, description?: unknown): void {
    this.onclose(reason, description);
  }

  private ondecoded(packet: Packet): void {
    const socket = this.socketOf(packet.nsp);
    if (!socket && packet.type === PacketType.CONNECT) {
      this.connect(packet.nsp, (packet.data ?? {}) as Record<string, unknown>);
    } else if (socket && packet.type !== PacketType.CONNECT && packet.type !== PacketType.CONNECT_ERROR) {
      // Application errors must not be mistaken for a malformed packet by the decoder's caller.
      try {
        socket._onpacket(packet);
      } catch (err) {
        log.error("event handler threw", { sid: socket.id, nsp: packet.nsp, error: err });
      }
    } else {
      log.debug("packet in an invalid state, closing", { type: packet.type, nsp: packet.nsp });
      this.close();
    }
  }

  private connect(name: string, auth: Record<string, unknown>): void {
    if (this.server._nsps.has(name)) this.doConnect(name, auth);
    else this.connectDynamic(name, auth);
  }

  /** A namespace that does not exist yet: a dynamic one may create it (apart for its closure). */
  private connectDynamic(name: string, auth: Record<string, unknown>): void {
    this.server._checkNamespace(name, auth, (allowed) => {
      if (allowed) this.doConnect(name, auth);
      else
        this.writePacket({
          type: PacketType.CONNECT_ERROR,
          nsp: name,
          data: { message: ErrorMessages.INVALID_NAMESPACE },
        });
    });
  }

  private doConnect(name: string, auth: Record<string, unknown>): void {
    // The namespace itself when it exists (`of` holds a closure: a scope object at every call).
    (this.server._nsps.get(name) ?? this.server.of(name))._add(this, auth);
  }

  /** @internal A socket of this connection connected to its namespace. */
  _socketConnected(socket: AnySocket): void {
    if (this.first === null) this.first = socket;
    else {
      this.others ??= [];
      this.others.push(socket);
    }
    if (this.connectTimer) {
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
    }
  }

  /** A malformed packet: every socket hears about it, then the connection closes as a parse error. */
  private onerror(err: Error): void {
    log.debug("parse error", { sid: this.conn.id, error: err.message });
    // Only sockets that listen for errors hear about it: a client flooding bad packets must not
    // flood the logs (the debug line above is there for diagnosis).
    for (const socket of this.sockets) if (socket.listenerCount("error") > 0) socket.onerror(err);
    this.closeWith(DisconnectReasons.PARSE_ERROR);
  }

  /** Close the connection from the server side ("forced server close"). */
  private close(): void {
    this.closeWith(DisconnectReasons.FORCED_SERVER_CLOSE);
  }

  private closeWith(reason: DisconnectReason & EngineCloseReason): void {
    if (this.conn.state !== "open" && this.conn.state !== "opening") return;
    this.onclose(reason);
    this.conn.close(reason);
  }

  private onclose(reason: DisconnectReason, description?: unknown): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.conn.setReceiver(null);
    const sockets = this.sockets;
    this.first = null;
    this.others = null;
    for (const socket of sockets) socket.onclose(reason, description);
    this.decoder?.destroy();
    this.decoder = null;
  }
}

function connectTimeoutPassed(client: Client): void {
  client._connectTimeoutPassed();
}
