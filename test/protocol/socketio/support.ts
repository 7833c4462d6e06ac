/**
 * Test plumbing for the Socket.IO suites: a live server on an ephemeral port, stock
 * socket.io-client sockets that are always closed, and bounded waits.
 */
import {
  type Socket as ClientSocket,
  io as connectClient,
  type ManagerOptions,
  type SocketOptions,
} from "socket.io-client";
import { Server, type ServerOptions } from "../../../protocol/index.ts";

/** How the stock client reaches the server in one run of the behavioural suite. */
export interface TransportConfig {
  name: string;
  transports: ("polling" | "websocket")[];
  /** Wait for the polling → websocket upgrade before the test goes on. */
  upgrade: boolean;
}

export const TRANSPORTS: Record<"websocket" | "polling" | "upgrade", TransportConfig> = {
  websocket: { name: "websocket only", transports: ["websocket"], upgrade: false },
  polling: { name: "polling only", transports: ["polling"], upgrade: false },
  upgrade: { name: "polling then websocket", transports: ["polling", "websocket"], upgrade: true },
};

/** Bound on every network wait: a lost event fails the test instead of hanging it. */
export const WAIT_MS = 3000;

export function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

interface Emitterish {
  once(event: string, listener: (...args: never[]) => void): unknown;
}

/** The arguments of the next `event` on `emitter`, within WAIT_MS. */
export function next<T extends unknown[] = unknown[]>(
  emitter: Emitterish,
  event: string,
  ms = WAIT_MS,
): Promise<T> {
  return withTimeout(
    new Promise<T>((resolve) => emitter.once(event, ((...args: unknown[]) => resolve(args as T)) as never)),
    `"${event}"`,
    ms,
  );
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A server on 127.0.0.1:0 plus a client factory; `close()` closes every client, then the server. */
export class Harness {
  readonly io: Server;
  readonly port: number;
  private readonly clients = new Set<ClientSocket>();

  constructor(
    readonly transport: TransportConfig,
    opts: ServerOptions = {},
    /** Added to every client's options (the same `parser` as the server's, say). */
    private readonly clientOptions: Partial<ManagerOptions & SocketOptions> = {},
  ) {
    this.io = new Server({ pingInterval: 2000, pingTimeout: 2000, ...opts });
    this.port = this.io.listen(0, "127.0.0.1").port ?? 0;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A new stock client (not yet necessarily connected). */
  client(nsp = "/", opts: Partial<ManagerOptions & SocketOptions> = {}): ClientSocket {
    const socket = connectClient(`${this.url}${nsp}`, {
      forceNew: true,
      reconnection: false,
      transports: this.transport.transports,
      ...this.clientOptions,
      ...opts,
    });
    this.clients.add(socket);
    return socket;
  }

  /** A new stock client, connected (and upgraded when the configuration says so). */
  async connected(nsp = "/", opts: Partial<ManagerOptions & SocketOptions> = {}): Promise<ClientSocket> {
    const socket = this.client(nsp, opts);
    await next(socket, "connect");
    if (this.transport.upgrade) await this.upgraded(socket, nsp);
    return socket;
  }

  /**
   * Resolves once both ends run on websocket: the client considers the upgrade done as soon as it
   * has sent the upgrade packet, the server a moment later when it reads it.
   */
  async upgraded(socket: ClientSocket, nsp = "/"): Promise<void> {
    const engine = socket.io.engine;
    if (engine.transport.name !== "websocket") await next(engine, "upgrade");
    const conn = this.serverSocket(socket, nsp).conn;
    await withTimeout(
      (async () => {
        while (conn.transportName !== "websocket") await sleep(2);
      })(),
      "the server side of the upgrade",
    );
  }

  /** The server-side socket of a connected client. */
  serverSocket(client: ClientSocket, nsp = "/") {
    const socket = this.io.of(nsp).sockets.get(client.id ?? "");
    if (!socket) throw new Error(`no server socket for ${client.id}`);
    return socket;
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.disconnect();
    this.clients.clear();
    await this.io.close();
  }
}
