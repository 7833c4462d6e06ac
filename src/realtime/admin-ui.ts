/**
 * socket.io's admin UI on the chat server: the official `instrument()` of `@socket.io/admin-ui`,
 * run unchanged on the realtime Server when ADMIN_UI=true (see docs/admin-ui.md). Off by default;
 * config.ts refuses it without credentials in production.
 */

import { createLogger } from "../../protocol/logger.ts";
import type { AdminUiConfig } from "../config.ts";
import type { ChatServer } from "./types.ts";

const log = createLogger("realtime");

/** The package is a devDependency: loaded only when the admin UI is enabled. */
const ADMIN_UI_PACKAGE = "@socket.io/admin-ui";

export class AdminUiUnavailable extends Error {
  constructor(cause: unknown) {
    super(
      `ADMIN_UI=true but ${ADMIN_UI_PACKAGE} cannot be loaded: install it (bun add ${ADMIN_UI_PACKAGE})`,
      {
        cause,
      },
    );
    this.name = "AdminUiUnavailable";
  }
}

/**
 * Instruments `io` for the admin UI. `serverId` names this node in the UI's server list (several
 * nodes of a cluster show up side by side through the adapter).
 */
export async function enableAdminUi(io: ChatServer, config: AdminUiConfig, serverId?: string): Promise<void> {
  let instrument: typeof import("@socket.io/admin-ui").instrument;
  try {
    ({ instrument } = await import(ADMIN_UI_PACKAGE));
  } catch (err) {
    throw new AdminUiUnavailable(err);
  }
  if (config.auth === null) log.warn("admin UI enabled WITHOUT authentication (not allowed in production)");
  // instrument() is typed against socket.io's Server class; it uses only the API Switchboard's
  // Server shares with it (namespaces, adapter events, fetchSockets, engine connection events).
  instrument(io as never, {
    auth: config.auth
      ? { type: "basic", username: config.auth.username, password: config.auth.passwordHash }
      : false,
    mode: config.mode,
    namespaceName: config.namespace,
    readonly: config.readonly,
    ...(serverId === undefined ? {} : { serverId }),
  });
  log.info("admin UI enabled", {
    namespace: config.namespace,
    mode: config.mode,
    auth: config.auth !== null,
  });
}
