/**
 * One node of a Switchboard cluster: the cluster adapter (Redis, Redis Cluster or PostgreSQL, see backend.ts),
 * session ids that name the node, the
 * registry of node addresses, the forwarding of foreign polling requests, the relay of foreign
 * websocket upgrades, and the internal listener that receives both.
 *
 * ```ts
 * const cluster = createClusterNode(loadClusterConfig(process.env)!);
 * await cluster.backend.ready;  // before the Server: the sharded adapter subscribes at once
 * const io = new Server({ ...cluster.serverOptions });
 * Bun.serve({ port, ...io.handler(app.fetch) });
 * cluster.attach(io.engine);   // internal listener + heartbeat
 * ```
 */
import type { Server as BunServer, WebSocketHandler } from "bun";
import type { LinkState } from "../../protocol/adapter/redis/index.ts";
import { ENGINE_DEFAULTS } from "../../protocol/engine/index.ts";
import { createLogger } from "../../protocol/logger.ts";
import { type ClusterBackend, createClusterBackend } from "./backend.ts";
import type { ClusterConfig, ClusterStore } from "./config.ts";
import { createForwarder, type Forwarder } from "./forwarder.ts";
import { startInternalServer } from "./internal-server.ts";
import { clusterMetrics } from "./metrics.ts";
import { generateNodeId, sessionIdGenerator } from "./node-id.ts";
import { NodeRegistry } from "./registry.ts";
import { createWebSocketRelay, type WebSocketRelay } from "./ws-relay.ts";

export { type ClusterConfig, loadClusterConfig } from "./config.ts";

const log = createLogger("cluster");

/** What the node needs of the engine: its request handler and websocket handler. */
export interface EngineLike {
  // biome-ignore lint/suspicious/noExplicitAny: the engine's Server type parameter is private to it
  handleRequest(req: Request, server: BunServer<any>): Promise<Response | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: the engine's websocket data type is private to it
  readonly websocket: WebSocketHandler<any>;
}

export interface ClusterHealth {
  /** "degraded" while the cluster store is unreachable: the node serves its own clients only. */
  status: "ok" | "degraded";
  /** Which store the cluster runs on. */
  store: ClusterStore;
  /** The state of the link to that store. */
  link: LinkState;
  /** The link's state under the name /health has always used (whatever the store). */
  redis: LinkState;
  nodeId: string;
}

export interface ClusterNode {
  readonly nodeId: string;
  /** The store's adapter, link and registry store. */
  readonly backend: ClusterBackend;
  readonly forwarder: Forwarder;
  readonly relay: WebSocketRelay;
  /**
   * Spread into the Server options: the adapter, `generateId`, `resolveForeignSession` and
   * `relayForeignUpgrade`.
   */
  readonly serverOptions: {
    adapter: ClusterBackend["adapter"];
    generateId: () => string;
    resolveForeignSession: Forwarder["resolveForeignSession"];
    relayForeignUpgrade: WebSocketRelay["relayForeignUpgrade"];
  };
  /** Starts the internal listener and the heartbeat; returns the advertised internal URL. */
  attach(engine: EngineLike): string;
  health(): ClusterHealth;
  /**
   * Resolves true once this node's address is in the registry (other nodes can forward to it),
   * false if not within `timeoutMs`. Without forwarding (no secret) resolves true at once.
   */
  announced(timeoutMs?: number): Promise<boolean>;
  /** Metric families for the app's registry (`registry.register(m)` each). */
  metrics(): { render(): string }[];
  close(): Promise<void>;
}

export function createClusterNode(config: ClusterConfig): ClusterNode {
  const nodeId = config.nodeId ?? generateNodeId();
  const backend = createClusterBackend(config);
  let registry: NodeRegistry | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: carries the engine's websockets (its data type)
  let internal: BunServer<any> | undefined;
  const secret = config.secret;
  if (!secret) {
    log.warn(
      "CLUSTER_SECRET is not set: polling requests are not forwarded between nodes, so the balancer needs sticky sessions",
    );
  }
  // Filled in by attach(); a lookup before it finds nothing, which is the safe answer.
  const lateRegistry = {
    lookup: (id: string) => registry?.lookup(id) ?? Promise.resolve(null),
    forget: (id: string) => registry?.forget(id),
  } as NodeRegistry;
  const forwarder = createForwarder({ nodeId, secret: secret ?? "", registry: lateRegistry });
  const relay = createWebSocketRelay({
    nodeId,
    secret: secret ?? "",
    registry: lateRegistry,
    // The engine's slow-client limit, for each side of a relayed connection.
    maxBufferedBytes: ENGINE_DEFAULTS.maxBufferedBytes,
  });
  const resolveForeignSession: Forwarder["resolveForeignSession"] = (req, sid) =>
    secret ? forwarder.resolveForeignSession(req, sid) : Promise.resolve(null);
  const relayForeignUpgrade: WebSocketRelay["relayForeignUpgrade"] = (req, sid) =>
    secret ? relay.relayForeignUpgrade(req, sid) : Promise.resolve(null);

  return {
    nodeId,
    backend,
    forwarder,
    relay,
    serverOptions: {
      adapter: backend.adapter,
      generateId: sessionIdGenerator(nodeId),
      resolveForeignSession,
      relayForeignUpgrade,
    },
    attach(engine) {
      if (!secret) return "";
      internal = startInternalServer({
        host: config.internalHost,
        port: config.internalPort,
        secret,
        handle: (req, server) => engine.handleRequest(req, server),
        websocket: engine.websocket,
      });
      const host =
        config.internalHost === "0.0.0.0" || config.internalHost === "::" ? "127.0.0.1" : config.internalHost;
      const address = config.advertiseUrl ?? `http://${host}:${internal.port}`;
      registry = new NodeRegistry(backend.registryStore, { nodeId, address, staticPeers: config.peers });
      registry.start();
      backend.link.on("state", (state: LinkState) => {
        if (state === "connected") void registry?.beat();
      });
      log.info("cluster node ready", {
        nodeId,
        internal: address,
        store: config.store,
        ...(config.store !== "postgres" ? { subscriptionMode: config.subscriptionMode } : {}),
      });
      return address;
    },
    async announced(timeoutMs = 5000) {
      if (!secret) return true;
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (registry && (await registry.beat())) return true;
        await Bun.sleep(50);
      }
      return false;
    },
    health: () => ({
      status: backend.link.state === "connected" ? "ok" : "degraded",
      store: backend.store,
      link: backend.link.state,
      redis: backend.link.state,
      nodeId,
    }),
    metrics: () =>
      clusterMetrics({
        store: backend.store,
        state: () => backend.link.state,
        ...(backend.recovery ? { recovery: backend.recovery } : {}),
        link: () => backend.link.counters,
        forwarder: () => forwarder.counters,
        relay: () => relay.counters,
      }),
    async close() {
      await registry?.stop();
      internal?.stop(true);
      await backend.close();
    },
  };
}
