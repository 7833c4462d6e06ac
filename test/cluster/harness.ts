/**
 * In-process Switchboard nodes on a shared Redis, and stock socket.io clients that record what
 * they receive: the pieces the cluster suites assemble.
 */
import { type Socket as ClientSocket, io as connect } from "socket.io-client";
import {
  createRedisCluster,
  type RedisAdapterOptions,
  type RedisCluster,
  type RedisLinkOptions,
} from "../../protocol/adapter/redis/index.ts";
import { Server } from "../../protocol/index.ts";
import { waitFor, within } from "./support.ts";

/** What a node needs of a cluster adapter package (Redis, PostgreSQL). */
export interface ClusterLike {
  adapter: NonNullable<ConstructorParameters<typeof Server>[0]>["adapter"];
  link: { state: string };
  close(): Promise<void>;
}

export interface SwitchboardNode<C extends ClusterLike = RedisCluster> {
  io: Server;
  cluster: C;
  port: number;
  url: string;
  /** Server-side events received from the cluster: `[namespace, ...args]`. */
  serverSide: unknown[][];
  close(): Promise<void>;
}

/**
 * A Switchboard node like the official fixture: namespaces "/" and "/admin", `socket.data`
 * naming the node, a "join" event, and "ping-servers" server-side events answered with an ack.
 */
export async function startSwitchboardNode(
  name: string,
  redisUrl: string,
  options: RedisAdapterOptions &
    Omit<RedisLinkOptions, "url"> & {
      extra?: ConstructorParameters<typeof Server>[0];
      waitForRedis?: boolean;
    } = {},
): Promise<SwitchboardNode> {
  const cluster = createRedisCluster({ url: redisUrl, ...options });
  return startNodeOn(name, cluster, options.extra, options.waitForRedis !== false);
}

/** The same node on any cluster adapter package; waits until its link is connected unless told not to. */
export async function startNodeOn<C extends ClusterLike>(
  name: string,
  cluster: C,
  extra?: ConstructorParameters<typeof Server>[0],
  waitForLink = true,
): Promise<SwitchboardNode<C>> {
  const io = new Server({ adapter: cluster.adapter, ...extra });
  const serverSide: unknown[][] = [];
  for (const nsp of [io.of("/"), io.of("/admin")]) {
    nsp.on("connection", (socket) => {
      if (!socket.recovered) socket.data = { node: name, nsp: nsp.name };
      socket.on("join", async (room: string, ack?: (v: string) => void) => {
        await socket.join(room);
        ack?.("joined");
      });
    });
    nsp.on("ping-servers", (arg: unknown, ack?: (v: unknown) => void) => {
      serverSide.push([nsp.name, arg]);
      ack?.(`${name}:${arg}`);
    });
    nsp.on("hello", (...args: unknown[]) => serverSide.push([nsp.name, ...args]));
  }
  const server = io.listen(0, "127.0.0.1");
  if (waitForLink) await waitFor(`${name} connected`, () => cluster.link.state === "connected");
  const port = server.port as number;
  return {
    io,
    cluster,
    port,
    url: `http://127.0.0.1:${port}`,
    serverSide,
    async close() {
      await io.close();
      await cluster.close();
    },
  };
}

/** A stock client that records every event it receives, in order. */
export interface RecordingClient {
  socket: ClientSocket;
  received: unknown[][];
  /** Events named `event`, their arguments. */
  got(event: string): unknown[][];
  join(room: string): Promise<void>;
  close(): void;
}

export async function recordingClient(
  url: string,
  options: { nsp?: string; transports?: ("polling" | "websocket")[]; upgrade?: boolean } = {},
): Promise<RecordingClient> {
  const socket = connect(`${url}${options.nsp ?? ""}`, {
    transports: options.transports ?? ["websocket"],
    upgrade: options.upgrade ?? true,
    reconnection: false,
    forceNew: true,
    timeout: 5000,
  });
  const received: unknown[][] = [];
  socket.onAny((...args: unknown[]) => received.push(args));
  // Answer every "ask" with an ack naming the client, for broadcast-with-ack tests.
  socket.on("ask", (arg: unknown, ack?: (v: unknown) => void) => ack?.(`${socket.id}:${arg}`));
  await within(
    `client connect to ${url}`,
    new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    }),
  );
  return {
    socket,
    received,
    got: (event) => received.filter((args) => args[0] === event).map((args) => args.slice(1)),
    join: async (room) => {
      await within(`join ${room}`, socket.emitWithAck("join", room));
    },
    close: () => socket.close(),
  };
}
