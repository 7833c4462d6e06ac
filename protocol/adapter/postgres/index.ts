/**
 * PostgreSQL scale-out for the Socket.IO layer, wire-compatible with `@socket.io/postgres-adapter`
 * 0.5 and `@socket.io/postgres-emitter`, on the database every deployment already runs:
 *
 * ```ts
 * const cluster = createPostgresCluster({ url: process.env.DATABASE_URL });
 * const io = new Server({ adapter: cluster.adapter });
 * cluster.link.state;       // "connecting" | "connected" | "degraded" | "closed"
 * ```
 */
import { PostgresAdapter, type PostgresAdapterOptions } from "./adapter.ts";
import { PostgresLink, type PostgresLinkOptions } from "./link.ts";

export { POSTGRES_ADAPTER_DEFAULTS, PostgresAdapter, type PostgresAdapterOptions } from "./adapter.ts";
export {
  type LinkCounters,
  type LinkState,
  POSTGRES_LINK_DEFAULTS,
  PostgresLink,
  type PostgresLinkOptions,
} from "./link.ts";

export interface PostgresClusterOptions extends PostgresLinkOptions, PostgresAdapterOptions {}

export interface PostgresCluster {
  /** The node's PostgreSQL connections (state, counters), shared by every namespace. */
  readonly link: PostgresLink;
  /** Pass as the server's `adapter` option: builds one PostgresAdapter per namespace. */
  readonly adapter: (nsp: ConstructorParameters<typeof PostgresAdapter>[0]) => PostgresAdapter;
  close(): Promise<void>;
}

/** Connects in the background (never throws when the database is down) and returns the adapter factory. */
export function createPostgresCluster(options: PostgresClusterOptions): PostgresCluster {
  const link = new PostgresLink(options);
  link.start();
  return {
    link,
    adapter: (nsp) => new PostgresAdapter(nsp, link, options),
    close: () => link.close(),
  };
}
