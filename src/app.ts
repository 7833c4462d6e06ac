/**
 * Assembles the server: database + migrations → seed → services → Socket.IO + Hono on ONE
 * Bun.serve port. `startServer` is what `bun run start` (src/main.ts) and the end-to-end tests run.
 */
import type { Server as BunServer } from "bun";
import { openDatabase } from "../db/client.ts";
import { createLogger } from "../protocol/logger.ts";
import { resolveJwtSecret } from "./auth/secret.ts";
import { TokenService } from "./auth/tokens.ts";
import type { OutboundChannel } from "./channels/channel.ts";
import { SandboxChannel } from "./channels/sandbox.ts";
import { WhatsappCloudChannel } from "./channels/whatsapp-cloud.ts";
import { type ClusterNode, createClusterNode } from "./cluster/index.ts";
import type { Config } from "./config.ts";
import type { AppContext } from "./context.ts";
import { createHttpApp } from "./http/app.ts";
import { ChatMetrics } from "./metrics/chat-metrics.ts";
import { createRealtime, type Realtime } from "./realtime/server.ts";
import { type SeedResult, seedIfEmpty } from "./seed.ts";
import { InboundService } from "./services/inbound.ts";
import type { ChatEvent, ChatNotifier } from "./services/notifier.ts";
import { MessageSender } from "./services/outbound.ts";

const log = createLogger("app");

export interface StartOptions {
  /** Build the web UI into config.webDistDir before serving. Default true. */
  buildWebUi?: boolean;
  /** Use this channel instead of the configured one (tests). */
  channel?: OutboundChannel;
}

export interface RunningServer {
  ctx: AppContext;
  realtime: Realtime;
  server: BunServer<unknown>;
  /** http://host:port of the listening server. */
  url: string;
  /** Set when this start seeded the demo data. */
  seeded: SeedResult | null;
  /** Graceful stop: no new connections, sockets closed, background sends settled, database closed. */
  stop(): Promise<void>;
}

/** Lets services be built before the realtime layer that delivers their events exists. */
class ForwardingNotifier implements ChatNotifier {
  target: ChatNotifier | undefined;
  publish(events: readonly ChatEvent[], committedAt: number): void {
    this.target?.publish(events, committedAt);
  }
}

function createChannel(config: Config): OutboundChannel {
  if (config.channel === "whatsapp")
    return new WhatsappCloudChannel({
      baseUrl: config.whatsappApiBaseUrl,
      phoneNumberId: config.whatsappPhoneNumberId,
      accessToken: config.whatsappAccessToken ?? "",
    });
  return new SandboxChannel({ stepMs: config.sandboxStepMs });
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const secret = resolveJwtSecret(config);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    pgliteDir: config.pgliteDir,
    maxConnections: config.databasePoolMax,
  });
  try {
    await database.migrate();
    const seeded = config.seedDemo
      ? await seedIfEmpty(database.db, {
          password: config.demoPassword,
          whatsappPhoneNumberId: config.whatsappPhoneNumberId,
        })
      : null;

    const notifier = new ForwardingNotifier();
    const channel = options.channel ?? createChannel(config);
    const inbound = new InboundService(database.db, notifier);
    channel.attach?.((statuses) => inbound.ingest({ messages: [], statuses }).then(() => {}));
    const ctx: AppContext = {
      config,
      database,
      tokens: new TokenService({
        secret,
        algorithm: config.jwtAlgorithm,
        accessTtlS: config.accessTokenTtlS,
        refreshTtlS: config.refreshTokenTtlS,
      }),
      metrics: new ChatMetrics(),
      channel,
      sender: new MessageSender(database.db, channel, notifier, (id) => inbound.replay(id)),
      inbound,
      startedAt: Date.now(),
    };
    const cluster: ClusterNode | null = config.cluster ? createClusterNode(config.cluster) : null;
    if (cluster) {
      ctx.clusterHealth = () => cluster.health();
      for (const metric of cluster.metrics()) ctx.metrics.registry.register(metric);
    }
    const realtime = createRealtime(ctx, cluster?.serverOptions ?? {}, cluster?.backend.limits);
    notifier.target = realtime.notifier;
    const http = createHttpApp(ctx);

    if (options.buildWebUi ?? true) {
      try {
        const { buildWebUi } = await import("./web/build.ts");
        await buildWebUi(config.webDistDir);
      } catch (err) {
        log.warn("web UI build failed: serving the API only", { error: err });
      }
    }

    const handler = realtime.io.handler((req, srv) => http.fetch(req, { server: srv }));
    const server = Bun.serve({
      hostname: config.host,
      port: config.port,
      reusePort: config.reusePort,
      ...handler,
    }) as BunServer<unknown>;
    cluster?.attach(realtime.io.engine);
    // Ready only once the other nodes can forward this node's sessions to it (bounded wait).
    if (cluster && !(await cluster.announced())) log.warn("node not yet in the cluster registry");
    const url = `http://${server.hostname === "0.0.0.0" ? "127.0.0.1" : server.hostname}:${server.port}`;
    log.info("listening", {
      url,
      database: database.kind,
      channel: channel.name,
      ...(cluster ? { node_id: cluster.nodeId } : {}),
    });

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        const deadline = Date.now() + config.shutdownTimeoutMs;
        const left = () => Math.max(0, deadline - Date.now() - 500);
        // No new connections; resolves once in-flight requests have been answered.
        const requestsDone = server.stop(false);
        // Long polls and websockets would hold the server open: the engine ends them.
        await realtime.close();
        await cluster?.close();
        channel.close();
        await Promise.race([requestsDone, Bun.sleep(left())]);
        await Promise.race([ctx.sender.drain(), Bun.sleep(Math.min(2000, left()))]);
        await server.stop(true);
        await database.close();
      })();
      return stopping;
    };
    return { ctx, realtime, server, url, seeded, stop };
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
}
