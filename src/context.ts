/**
 * Everything the HTTP and realtime layers share, built once by src/app.ts. Passing this object
 * (instead of importing singletons) keeps every layer testable with its own database and clock.
 */
import type { DatabaseHandle } from "../db/client.ts";
import type { TokenService } from "./auth/tokens.ts";
import type { OutboundChannel } from "./channels/channel.ts";
import type { ClusterHealth } from "./cluster/index.ts";
import type { Config } from "./config.ts";
import type { ChatMetrics } from "./metrics/chat-metrics.ts";
import type { InboundService } from "./services/inbound.ts";
import type { MessageSender } from "./services/outbound.ts";
import type { WebUi } from "./web/ui.ts";

export interface AppContext {
  config: Config;
  database: DatabaseHandle;
  tokens: TokenService;
  metrics: ChatMetrics;
  channel: OutboundChannel;
  sender: MessageSender;
  inbound: InboundService;
  /** Process start (ms since epoch), for /health. */
  startedAt: number;
  /** The web UI served at "/" (or why none is). Default: none. */
  webUi?: WebUi;
  /** Set on a cluster node: its Redis link, for /health. */
  clusterHealth?: () => ClusterHealth;
}
