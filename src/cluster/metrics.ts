/**
 * Cluster counters on /metrics, read at scrape time from the store's link (Redis or PostgreSQL),
 * the forwarder and the relay. They implement the registry's `render()` so the app's registry can
 * hold them. The counter names say "cluster", not the store: a dashboard works on either.
 */

import type { LinkCounters, LinkState } from "../../protocol/adapter/redis/index.ts";
import type { ClusterStore } from "./config.ts";
import type { ForwarderCounters } from "./forwarder.ts";
import type { WebSocketRelayCounters } from "./ws-relay.ts";

export interface ClusterMetricSource {
  store: ClusterStore;
  state(): LinkState;
  link(): LinkCounters;
  forwarder(): ForwarderCounters;
  relay(): WebSocketRelayCounters;
  /** Connection-state recovery kept in the cluster store (PostgreSQL): recovered, and refused by reason. */
  recovery?(): { recovered: number; notRecovered: Record<string, number> };
}

const COUNTERS: [name: string, help: string, read: (s: ClusterMetricSource) => number][] = [
  [
    "switchboard_cluster_published_total",
    "Messages published to the cluster store.",
    (s) => s.link().published,
  ],
  [
    "switchboard_cluster_publish_failed_total",
    "Messages that could not be published to the cluster store (not forwarded to other nodes).",
    (s) => s.link().publishFailed,
  ],
  [
    "switchboard_cluster_received_total",
    "Messages received from the cluster store.",
    (s) => s.link().received,
  ],
  [
    "switchboard_cluster_malformed_total",
    "Malformed or foreign messages on the cluster channels, ignored.",
    (s) => s.link().malformed,
  ],
  [
    "switchboard_cluster_reconnects_total",
    "Reconnections to the cluster store after losing it.",
    (s) => s.link().reconnects,
  ],
  [
    "switchboard_cluster_request_timeouts_total",
    "Cluster requests answered partially at their deadline.",
    (s) => s.link().requestTimeouts,
  ],
  [
    "switchboard_cluster_forwarded_total",
    "Polling requests forwarded to the node owning the session.",
    (s) => s.forwarder().forwarded,
  ],
  [
    "switchboard_cluster_forward_failed_total",
    "Polling requests whose owning node could not be reached.",
    (s) => s.forwarder().forwardFailed,
  ],
  [
    "switchboard_cluster_ws_relayed_total",
    "Websocket upgrades relayed to the node owning the session.",
    (s) => s.relay().relayed,
  ],
  [
    "switchboard_cluster_ws_relay_failed_total",
    "Websocket upgrades whose owning node could not be reached.",
    (s) => s.relay().relayFailed,
  ],
];

/** Metrics in Prometheus text format, one object per family (what the app's Registry renders). */
export function clusterMetrics(source: ClusterMetricSource): { render(): string }[] {
  const families = COUNTERS.map(([name, help, read]) => ({
    render: () => `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name} ${read(source)}\n`,
  }));
  const up = () => (source.state() === "connected" ? 1 : 0);
  families.push({
    render: () =>
      "# HELP switchboard_cluster_store_up 1 when the node is connected to its cluster store, 0 when degraded.\n" +
      `# TYPE switchboard_cluster_store_up gauge\nswitchboard_cluster_store_up{store="${source.store}"} ${up()}\n`,
  });
  // The name dashboards of Redis clusters already use.
  if (source.store !== "postgres")
    families.push({
      render: () =>
        "# HELP switchboard_cluster_redis_up 1 when the node is connected to Redis, 0 when degraded.\n" +
        `# TYPE switchboard_cluster_redis_up gauge\nswitchboard_cluster_redis_up ${up()}\n`,
    });
  const recovery = source.recovery;
  if (recovery)
    families.push({
      render: () => {
        const { recovered, notRecovered } = recovery();
        const refused = Object.entries(notRecovered)
          .map(([reason, n]) => `switchboard_recovery_refused_total{reason="${reason}"} ${n}\n`)
          .join("");
        return (
          "# HELP switchboard_recovery_recovered_total Sessions recovered from the cluster store.\n" +
          `# TYPE switchboard_recovery_recovered_total counter\nswitchboard_recovery_recovered_total ${recovered}\n` +
          "# HELP switchboard_recovery_refused_total Recoveries refused (fresh session instead), by reason.\n" +
          `# TYPE switchboard_recovery_refused_total counter\n${refused}`
        );
      },
    });
  families.push({
    render: () =>
      "# HELP switchboard_cluster_ws_relays_open Relayed websocket connections open now.\n" +
      `# TYPE switchboard_cluster_ws_relays_open gauge\nswitchboard_cluster_ws_relays_open ${source.relay().open}\n`,
  });
  return families;
}
