/** The chat server's metrics, named `switchboard_*`, shared by the realtime and HTTP layers. */
import { Counter, Gauge, Histogram, Registry } from "./registry.ts";

/** What the realtime layer reports at scrape time. */
export interface ConnectionStats {
  total: number;
  byTransport: Record<string, number>;
}

export class ChatMetrics {
  readonly registry = new Registry();
  #connections: () => ConnectionStats = () => ({ total: 0, byTransport: {} });

  readonly eventsReceived = this.registry.register(
    new Counter("switchboard_events_received_total", "Client events received, by event name."),
  );
  readonly eventsEmitted = this.registry.register(
    new Counter("switchboard_events_emitted_total", "Events emitted to clients, by event name."),
  );
  readonly authFailures = this.registry.register(
    new Counter("switchboard_auth_failures_total", "Refused socket handshakes and REST logins, by code."),
  );
  readonly rateLimited = this.registry.register(
    new Counter(
      "switchboard_rate_limited_events_total",
      "Client events dropped by the rate limiter, by event.",
    ),
  );
  /** Webhook (and sandbox) items set aside: malformed in the payload, or refused by the database. */
  readonly inboundRejected = this.registry.register(
    new Counter(
      "switchboard_inbound_rejected_items_total",
      "Inbound webhook items not applied, by kind (message, status, change) and reason.",
    ),
  );
  /** Seconds from the commit of a message or status change to its emit. */
  readonly persistToEmit = this.registry.register(
    new Histogram(
      "switchboard_persist_to_emit_seconds",
      "Latency from database commit to the realtime emit.",
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    ),
  );

  constructor() {
    this.registry.register(
      new Gauge("switchboard_active_connections", "Connected sockets.", () => [
        [{}, this.#connections().total],
      ]),
    );
    this.registry.register(
      new Gauge("switchboard_connections_by_transport", "Connected sockets by transport.", () =>
        Object.entries(this.#connections().byTransport).map(([transport, n]) => [{ transport }, n]),
      ),
    );
  }

  /** The realtime layer plugs in its live connection count. */
  setConnectionSource(source: () => ConnectionStats): void {
    this.#connections = source;
  }

  render(): string {
    return this.registry.render();
  }
}
