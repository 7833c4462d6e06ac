/**
 * The listener other nodes forward polling requests and relay websocket upgrades to. It accepts
 * only requests that carry the cluster secret (403 otherwise) and hands them to the engine like any
 * request; relayed websockets are the engine's own (its websocket handler). It is separate
 * from the public port because N workers share the public port (SO_REUSEPORT): only a private
 * port reaches one specific worker.
 */
import type { Server, WebSocketHandler } from "bun";
import { createLogger } from "../../protocol/logger.ts";
import { hasClusterSecret } from "./forwarder.ts";

const log = createLogger("cluster");

export const FORBIDDEN_BODY = JSON.stringify({ code: 4, message: "Forbidden" });

export interface InternalServerOptions {
  /** Interface to bind. Default 127.0.0.1 (one machine); a private address for several machines. */
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  secret: string;
  /** The engine's request handler. */
  handle: (req: Request, server: Server<unknown>) => Promise<Response | undefined> | Response | undefined;
  /** The engine's websocket handler (relayed upgrades become the engine's websockets here). */
  // biome-ignore lint/suspicious/noExplicitAny: the engine's websocket data type is private to it
  websocket: WebSocketHandler<any>;
}

// biome-ignore lint/suspicious/noExplicitAny: carries the engine's websockets
export function startInternalServer(options: InternalServerOptions): Server<any> {
  const server = Bun.serve({
    hostname: options.host,
    port: options.port,
    // Long-polls are held by the engine (which lifts the timeout per request); keep the rest bounded.
    idleTimeout: 120,
    fetch: async (req, srv) => {
      if (!hasClusterSecret(req, options.secret)) {
        log.warn("refused an internal request without the cluster secret", { url: req.url });
        return new Response(FORBIDDEN_BODY, { status: 403, headers: { "content-type": "application/json" } });
      }
      // undefined: the request became a websocket (Bun expects no response then).
      return (await options.handle(req, srv as Server<unknown>)) as Response;
    },
    websocket: options.websocket,
  });
  return server;
}
