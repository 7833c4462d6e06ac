/**
 * Everything the HTTP and realtime layers share, built once by src/app.ts. Passing this object
 * (instead of importing singletons) keeps every layer testable with its own database and clock.
 */
import type { DatabaseHandle } from "../db/client.ts";
import type { SessionStore } from "./auth/sessions.ts";
import type { TokenService } from "./auth/tokens.ts";
import type { OutboundChannel } from "./channels/channel.ts";
import type { ClusterHealth } from "./cluster/index.ts";
import type { Config } from "./config.ts";
import type { MediaStorage } from "./media/storage.ts";
import type { ChatMetrics } from "./metrics/chat-metrics.ts";
import type { OutboxMetrics } from "./outbox/metrics.ts";
import type { OutboxWorker } from "./outbox/worker.ts";
import type { LiveSessions } from "./realtime/user-sessions.ts";
import type { InboundService } from "./services/inbound.ts";
import type { LiveAccess } from "./services/live-access.ts";
import type { ChatNotifier } from "./services/notifier.ts";
import type { PresenceList } from "./shared/api.ts";
import type { Uuid } from "./shared/events.ts";

export interface PresenceDirectory {
  list(organizationId: Uuid): Promise<PresenceList["data"]>;
}

import type { MessageSender } from "./services/outbound.ts";
import type { WebUi } from "./web/ui.ts";

export interface AppContext {
  config: Config;
  database: DatabaseHandle;
  tokens: TokenService;
  /** Login sessions and refresh-token rotation. */
  sessions: SessionStore;
  /** Closes live sockets when an account or a session changes (the realtime layer, once it exists). */
  liveSessions: LiveSessions;
  metrics: ChatMetrics;
  channel: OutboundChannel;
  sender: MessageSender;
  /** Delivers what `sender` accepted (durable outbox). */
  outbox: OutboxWorker;
  outboxMetrics: OutboxMetrics;
  /** Where media files are kept (local files under MEDIA_DIR). */
  mediaStorage: MediaStorage;
  inbound: InboundService;
  /** Announces committed changes (to live sockets once the realtime layer is up). */
  notifier: ChatNotifier;
  /** Brings live sockets in line after an access change (assignment, role, active flag, logout). */
  liveAccess: LiveAccess;
  /** Who is online (set once the realtime layer is up): GET /api/v1/presence. */
  presence?: PresenceDirectory;
  /** Process start (ms since epoch), for /health. */
  startedAt: number;
  /** The web UI served at "/" (or why none is). Default: none. */
  webUi?: WebUi;
  /** Set on a cluster node: its Redis link, for /health. */
  clusterHealth?: () => ClusterHealth;
}
