/**
 * What an adapter sees of the layer above it: the contract the Socket.IO layer implements, as
 * socket.io-adapter sees socket.io only through `nsp` (its name, sockets, `server.encoder`). The
 * adapter never imports protocol/socketio: the Namespace and Socket classes satisfy these shapes,
 * and any other host could. Kept to what adapters use.
 */
import type { EnginePublisher, EngineSocket, RawData } from "../engine/contract.ts";
import type { Packet, Room, SocketId } from "./types.ts";

/** How the frames of one packet are written to one engine session. */
export interface WriteOptions {
  volatile?: boolean;
  compress?: boolean;
}

/**
 * Encodes a packet into the engine frames that carry it, with the server's parser: a broadcast is
 * encoded once and the same frames go to every receiver. Must not modify the packet.
 */
export interface PacketEncoder {
  encode(packet: Packet): RawData[];
}

/** The connection a socket writes to. */
export interface HostClient {
  /** Write frames already encoded (by `PacketEncoder.encode`). */
  writeToEngine(frames: readonly RawData[], opts: WriteOptions): void;
}

/** A connected socket of the namespace, as an adapter reaches it. */
export interface HostSocket {
  readonly id: SocketId;
  /** The engine session (native pub/sub subscriptions follow the socket's rooms). */
  readonly conn: EngineSocket;
  readonly client: HostClient;
  /** The handshake, reported as it is for remote sockets (`fetchSockets`). */
  readonly handshake: object;
  readonly rooms: Set<Room>;
  /** Application data, reported for remote sockets. */
  readonly data: unknown;
  /** Pending acks of packets sent to this socket, by packet id. */
  readonly acks: Map<number, (...args: unknown[]) => void>;
  /** Tell `onAnyOutgoing` listeners about a packet sent to this socket. */
  notifyOutgoingListeners(packet: Packet): void;
  join(rooms: Room | Room[]): Promise<void> | void;
  leave(room: Room): Promise<void> | void;
  disconnect(close?: boolean): unknown;
}

/** The server a namespace belongs to, as an adapter needs it. */
export interface HostServer {
  /** The server's packet encoder (its `parser` option). */
  readonly encoder: PacketEncoder;
  /** Native publish to the sessions subscribed to a topic. */
  readonly engine: EnginePublisher;
  readonly opts: {
    /** Set when connection-state recovery is on (session-aware adapters keep sessions for it). */
    readonly connectionStateRecovery?: {
      readonly maxDisconnectionDuration: number;
      readonly maxStoredPackets: number;
    };
  };
}

/** The namespace an adapter serves. */
export interface HostNamespace {
  readonly name: string;
  readonly server: HostServer;
  /** Connected sockets by id. */
  readonly sockets: ReadonlyMap<SocketId, HostSocket>;
  /** Sockets with onAnyOutgoing listeners; while any, broadcasts skip the native fan-out. */
  readonly _outgoingWatchers: number;
  /** Next packet id for an ack (shared by every socket of the namespace). */
  _nextAckId(): number;
  /** An event another node of the cluster sent with `serverSideEmit`. */
  _onServerSideEmit(args: [string, ...unknown[]]): void;
}

/** The names adapters were written against. */
export type AnyNamespace = HostNamespace;
export type AnySocket = HostSocket;
