/**
 * One engine session seen from Socket.IO: decodes its frames into packets (one decoder per
 * connection, so binary attachments reassemble in order), routes them to the socket of each
 * namespace it joined, and writes encoded packets back. Closes a session that never joins a
 * namespace within connectTimeout, and one that sends a malformed packet ("parse error").
 */

import type { WriteOptions } from "../adapter/adapter.ts";
import type { EngineCloseReason, EngineSocket, RawData } from "../engine/contract.ts";
import { createLogger } from "../logger.ts";
import { type RequestSummary, summarizeRequest } from "./handshake.ts";
import { encodePacket, type Packet, PacketDecoder, PacketType } from "./packet-codec.ts";
import { type DisconnectReason, DisconnectReasons, ErrorMessages } from "./reasons.ts";
import type { AnyServer, AnySocket } from "./server-types.ts";

const log = createLogger("socketio");

export class Client {
  /** The handshake request, summarized once for every namespace this connection joins. */
  readonly request: RequestSummary;
  /** Connected sockets by socket id. */
  readonly sockets = new Map<string, AnySocket>();
  /** Connected sockets by namespace name. */
  private readonly nsps = new Map<string, AnySocket>();
  private readonly decoder: PacketDecoder;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly server: AnyServer,
    readonly conn: EngineSocket,
  ) {
    this.request = summarizeRequest(conn.request);
    this.decoder = new PacketDecoder(server.opts.maxAttachments, (packet) => this.ondecoded(packet));
    conn.on("message", this.ondata);
    conn.on("close", this.onclose);
    this.connectTimer = setTimeout(() => {
      if (this.nsps.size === 0) this.close();
    }, server.opts.connectTimeout);
  }

  get id(): string {
    return this.conn.id;
  }

  /** Encode and write one packet. */
  writePacket(packet: Packet, opts: WriteOptions = {}): void {
    if (this.conn.state !== "open") return;
    this.writeToEngine(encodePacket(packet), opts);
  }

  /** Write already-encoded frames (adapters encode a broadcast once and call this per receiver). */
  writeToEngine(frames: readonly RawData[], opts: WriteOptions): void {
    if (opts.volatile && !this.conn.writable) return;
    const sendOpts = opts.compress === false ? { compress: false } : undefined;
    if (frames.length === 1) this.conn.send(frames[0]!, sendOpts);
    else this.conn.sendMany(frames, sendOpts);
  }

  /** Disconnect every namespace, then close the connection. */
  disconnect(): void {
    for (const socket of this.sockets.values()) socket.disconnect();
    this.sockets.clear();
    this.close();
  }

  /** @internal A socket left its namespace. */
  remove(socket: AnySocket): void {
    if (this.sockets.get(socket.id) !== socket) return;
    this.sockets.delete(socket.id);
    this.nsps.delete(socket.nsp.name);
  }

  private readonly ondata = (data: RawData): void => {
    try {
      this.decoder.add(data);
    } catch (err) {
      this.onerror(err instanceof Error ? err : new Error(String(err)));
    }
  };

  private ondecoded(packet: Packet): void {
    const socket = this.nsps.get(packet.nsp);
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
    if (this.server._nsps.has(name)) {
      this.doConnect(name, auth);
      return;
    }
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
    const nsp = this.server.of(name);
    nsp._add(this, auth, (socket) => {
      this.sockets.set(socket.id, socket);
      this.nsps.set(nsp.name, socket);
      if (this.connectTimer) {
        clearTimeout(this.connectTimer);
        this.connectTimer = undefined;
      }
    });
  }

  /** A malformed packet: every socket hears about it, then the connection closes as a parse error. */
  private onerror(err: Error): void {
    log.debug("parse error", { sid: this.conn.id, error: err.message });
    // Only sockets that listen for errors hear about it: a client flooding bad packets must not
    // flood the logs (the debug line above is there for diagnosis).
    for (const socket of this.sockets.values()) if (socket.listenerCount("error") > 0) socket.onerror(err);
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

  private readonly onclose = (reason: DisconnectReason, description?: unknown): void => {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.conn.off("message", this.ondata);
    this.conn.off("close", this.onclose);
    for (const socket of this.sockets.values()) socket.onclose(reason, description);
    this.sockets.clear();
    this.nsps.clear();
    this.decoder.destroy();
  };
}
