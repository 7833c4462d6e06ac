/**
 * The Hono application: REST API under /api/v1, /health, /metrics, and the web UI at "/".
 * The Socket.IO server owns /socket.io/ and hands every other request to this app's fetch.
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { createLogger } from "../../protocol/logger.ts";
import type { AppContext } from "../context.ts";
import { API_PREFIX, IDEMPOTENCY_KEY_HEADER } from "../shared/api.ts";
import { errorBody, errorResponse, HTTP_ERROR_CODES } from "./errors.ts";
import { apiDocsRoutes } from "./routes/api-docs.ts";
import { authRoutes } from "./routes/auth.ts";
import { conversationRoutes } from "./routes/conversations.ts";
import { healthRoutes } from "./routes/health.ts";
import { mediaRoutes } from "./routes/media.ts";
import { presenceRoutes } from "./routes/presence.ts";
import { sandboxRoutes } from "./routes/sandbox.ts";
import { userRoutes } from "./routes/users.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import { serveWebUi } from "./static.ts";

const log = createLogger("http");

export function createHttpApp(ctx: AppContext): Hono {
  const app = new Hono();
  // Access log at debug level only (DEBUG=http): quiet by default, one switch away when needed.
  if (log.debugEnabled)
    app.use("*", async (c, next) => {
      const started = performance.now();
      await next();
      log.debug("request", {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
      });
    });
  app.onError((err, c) => errorResponse(c, err));
  app.notFound((c) =>
    c.json(errorBody(HTTP_ERROR_CODES.notFound, `no route for ${c.req.method} ${c.req.path}`), 404),
  );

  // Only listed origins get CORS headers; credentials are allowed, so never "*".
  const allowed = new Set(ctx.config.corsOrigins);
  app.use(
    `${API_PREFIX}/*`,
    cors({
      origin: (origin) => (allowed.has(origin) ? origin : null),
      credentials: true,
      allowHeaders: ["Authorization", "Content-Type", IDEMPOTENCY_KEY_HEADER],
      allowMethods: ["GET", "POST", "PATCH", "OPTIONS"],
      maxAge: 600,
    }),
  );
  app.use("*", secureHeaders({ crossOriginResourcePolicy: false }));

  app.route("/", healthRoutes(ctx));
  app.route("/", apiDocsRoutes());
  app.route(`${API_PREFIX}/auth`, authRoutes(ctx));
  app.route(`${API_PREFIX}/conversations`, conversationRoutes(ctx));
  app.route(`${API_PREFIX}/users`, userRoutes(ctx));
  app.route(`${API_PREFIX}/presence`, presenceRoutes(ctx));
  app.route(`${API_PREFIX}/webhooks`, webhookRoutes(ctx));
  // Demo tools exist only where no real customer can be impersonated.
  if (ctx.config.channel === "sandbox") app.route(`${API_PREFIX}/sandbox`, sandboxRoutes(ctx));
  app.route(`${API_PREFIX}/media`, mediaRoutes(ctx));
  app.all(`${API_PREFIX}/*`, (c) =>
    c.json(errorBody(HTTP_ERROR_CODES.notFound, `no route for ${c.req.method} ${c.req.path}`), 404),
  );
  app.get("*", serveWebUi(ctx.webUi ?? { kind: "none", reason: "no web UI" }));
  return app;
}
