/**
 * Assembles the server: database + migrations → seed → services → Socket.IO + Hono on ONE
 * Bun.serve port. `startServer` is what `bun run start` (src/main.ts) and the end-to-end tests run.
 */
import { join } from "node:path";
import type { Server as BunServer } from "bun";
import { openDatabase } from "../db/client.ts";
import { createLogger } from "../protocol/logger.ts";
import { resolveJwtSecret } from "./auth/secret.ts";
import { SessionStore } from "./auth/sessions.ts";
import { TokenService } from "./auth/tokens.ts";
import type { OutboundChannel } from "./channels/channel.ts";
import { SandboxChannel } from "./channels/sandbox.ts";
import { WhatsappCloudChannel } from "./channels/whatsapp-cloud.ts";
import { type ClusterNode, createClusterNode } from "./cluster/index.ts";
import { generateNodeId } from "./cluster/node-id.ts";
import type { Config } from "./config.ts";
import type { AppContext } from "./context.ts";
import { createHttpApp } from "./http/app.ts";
import { FetchMediaHandler } from "./media/fetch-job.ts";
import { LocalMediaStorage } from "./media/storage.ts";
import { ChatMetrics } from "./metrics/chat-metrics.ts";
import { startMetricsServer } from "./metrics/endpoint.ts";
import { SendHandoff } from "./outbox/handoff.ts";
import { OutboxMetrics } from "./outbox/metrics.ts";
import { SendMessageHandler } from "./outbox/send-message.ts";
import { OutboxWorker } from "./outbox/worker.ts";
import { enableAdminUi } from "./realtime/admin-ui.ts";
import { createRealtime, type Realtime } from "./realtime/server.ts";
import type { LiveSessions, SessionEndReason } from "./realtime/user-sessions.ts";
import { SANDBOX_MEDIA_DIR } from "./sandbox/customer.ts";
import { type DemoLogin, refreshDemoLogin, type SeedResult, seedIfEmpty } from "./seed.ts";
import { InboundService } from "./services/inbound.ts";
import { type LiveAccess, noLiveAccess } from "./services/live-access.ts";
import type { ChatEvent, ChatNotifier } from "./services/notifier.ts";
import { MessageSender } from "./services/outbound.ts";
import { loadWebUi, type WebUi } from "./web/ui.ts";

const log = createLogger("app");

export interface StartOptions {
  /**
   * Bundle the web UI in memory at start when WEB_DIST_DIR does not name a prebuilt folder.
   * Default true; tests and benchmarks that do not need the page skip the ~100 ms bundle.
   */
  buildWebUi?: boolean;
  /** Use this channel instead of the configured one (tests). */
  channel?: OutboundChannel;
  /** Called for every PostgreSQL statement (the chat benchmark's queries per message). */
  onDatabaseQuery?: () => void;
}

export interface RunningServer {
  ctx: AppContext;
  realtime: Realtime;
  server: BunServer<unknown>;
  /** http://host:port of the listening server. */
  url: string;
  /** The METRICS_PORT listener's /metrics URL; null when /metrics is on the public port. */
  metricsUrl: string | null;
  /** The web UI served at "/", or why none is (the banner says which). */
  webUi: WebUi;
  /** Set when this start seeded the demo data. */
  seeded: SeedResult | null;
  /** Demo mode on data seeded by an earlier start: the demo users left (DEMO_PASSWORD applied). */
  demo: DemoLogin | null;
  /** Graceful stop: no new connections, sockets closed, outbox sends settled or requeued, database closed. */
  stop(): Promise<void>;
}

/** Lets routes be built before the realtime layer that enforces access on live sockets exists. */
class ForwardingLiveAccess implements LiveAccess {
  target: LiveAccess = noLiveAccess;
  conversationChanged(conversation: Parameters<LiveAccess["conversationChanged"]>[0]): Promise<void> {
    return this.target.conversationChanged(conversation);
  }
  userChanged(userId: string): Promise<void> {
    return this.target.userChanged(userId);
  }
}

/** Lets services be built before the realtime layer that delivers their events exists. */
class ForwardingNotifier implements ChatNotifier {
  target: ChatNotifier | undefined;
  publish(events: readonly ChatEvent[], committedAt: number): void {
    this.target?.publish(events, committedAt);
  }
}

/** Lets the HTTP layer be built with a handle on the realtime layer's session control. */
class ForwardingLiveSessions implements LiveSessions {
  target: LiveSessions | undefined;
  endUserSessions(userId: string, reason: SessionEndReason): void {
    this.target?.endUserSessions(userId, reason);
  }
  endSession(sessionId: string, reason: SessionEndReason): void {
    this.target?.endSession(sessionId, reason);
  }
}

function createChannel(config: Config): OutboundChannel {
  if (config.channel === "whatsapp")
    return new WhatsappCloudChannel({
      baseUrl: config.whatsappApiBaseUrl,
      phoneNumberId: config.whatsappPhoneNumberId,
      accessToken: config.whatsappAccessToken ?? "",
      timeoutMs: config.whatsappSendTimeoutMs,
    });
  return new SandboxChannel({
    stepMs: config.sandboxStepMs,
    mediaDir: join(config.dataDir, SANDBOX_MEDIA_DIR),
  });
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    pgliteDir: config.pgliteDir,
    maxConnections: config.databasePoolMax,
    ...(options.onDatabaseQuery ? { onQuery: options.onDatabaseQuery } : {}),
  });
  try {
    await database.migrate();
    // After the database: a start that fails on the database creates or announces nothing else.
    const secret = resolveJwtSecret(config);
    const seeded = config.seedDemo
      ? await seedIfEmpty(database.db, {
          password: config.demoPassword,
          whatsappPhoneNumberId: config.whatsappPhoneNumberId,
        })
      : null;
    const demo = config.seedDemo && !seeded ? await refreshDemoLogin(database.db, config.demoPassword) : null;

    const notifier = new ForwardingNotifier();
    const liveAccess = new ForwardingLiveAccess();
    const channel = options.channel ?? createChannel(config);
    const metrics = new ChatMetrics();
    const inbound = new InboundService(database.db, notifier, (item) =>
      metrics.inboundRejected.inc({ kind: item.kind, reason: item.reason }),
    );
    channel.attach?.((statuses) => inbound.ingest({ messages: [], statuses }).then(() => {}));
    const outboxMetrics = new OutboxMetrics(database.db, metrics.registry);
    const mediaStorage = new LocalMediaStorage(config.mediaDir);
    const retry = { baseMs: config.outbox.retryBaseMs, maxMs: config.outbox.retryMaxMs };
    const handoff = new SendHandoff();
    const outbox = new OutboxWorker(
      database.db,
      {
        send_message: new SendMessageHandler({
          db: database.db,
          handoff,
          channel,
          notifier,
          retry,
          onChannelId: (id) => inbound.replay(id),
          storage: mediaStorage,
        }),
        fetch_media: new FetchMediaHandler({
          db: database.db,
          channel,
          storage: mediaStorage,
          maxBytes: config.mediaMaxBytes,
          retry,
        }),
      },
      outboxMetrics,
      {
        nodeId: config.nodeId ?? config.cluster?.nodeId ?? generateNodeId(),
        settings: config.outbox,
        reclaimAllOnStart: database.kind === "pglite",
      },
    );
    const tokens = new TokenService({
      secret,
      algorithm: config.jwtAlgorithm,
      accessTtlS: config.accessTokenTtlS,
      refreshTtlS: config.refreshTokenTtlS,
    });
    const liveSessions = new ForwardingLiveSessions();
    const ctx: AppContext = {
      config,
      database,
      tokens,
      sessions: new SessionStore(database.db, tokens),
      liveSessions,
      metrics,
      channel,
      sender: new MessageSender(database.db, notifier, outbox, config.outbox.retryBudgetMs, handoff),
      outbox,
      outboxMetrics,
      mediaStorage,
      inbound,
      notifier,
      liveAccess,
      startedAt: Date.now(),
    };
    const cluster: ClusterNode | null = config.cluster ? createClusterNode(config.cluster) : null;
    if (cluster) {
      ctx.clusterHealth = () => cluster.health();
      for (const metric of cluster.metrics()) ctx.metrics.registry.register(metric);
      await cluster.backend.ready;
    }
    const realtime = createRealtime(ctx, cluster?.serverOptions ?? {}, cluster?.backend.limits);
    if (config.adminUi) await enableAdminUi(realtime.io, config.adminUi, cluster?.nodeId);
    notifier.target = realtime.notifier;
    liveSessions.target = realtime.sessions;
    liveAccess.target = realtime.liveAccess;
    ctx.presence = realtime.presence;
    ctx.webUi = await loadWebUi(config.webDistDir, options.buildWebUi ?? true);
    if (ctx.webUi.kind === "none" && (options.buildWebUi ?? true)) log.warn(`no web UI: ${ctx.webUi.reason}`);
    const http = createHttpApp(ctx);

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
    await outbox.start();
    const metricsServer =
      config.metricsPort === undefined
        ? null
        : startMetricsServer(config, ctx.metrics, () => ctx.outboxMetrics.refresh());
    if (metricsServer)
      log.info("metrics listening", {
        url: `http://${metricsServer.hostname}:${metricsServer.port}/metrics`,
      });
    else if (config.nodeEnv === "production" && config.metricsToken === undefined)
      log.warn(
        "/metrics is open on the public port: set METRICS_TOKEN or METRICS_PORT (production checklist)",
      );
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
        // Sends in flight settle within the budget or go back to the queue; only then is the channel cut.
        await outbox.stop(Math.min(left(), Math.max(0, config.shutdownTimeoutMs / 2)));
        channel.close();
        await Promise.race([requestsDone, Bun.sleep(left())]);
        await server.stop(true);
        await metricsServer?.stop(true);
        await database.close();
      })();
      return stopping;
    };
    const metricsUrl = metricsServer
      ? `http://${metricsServer.hostname}:${metricsServer.port}/metrics`
      : null;
    return { ctx, realtime, server, url, metricsUrl, webUi: ctx.webUi, seeded, demo, stop };
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
}
