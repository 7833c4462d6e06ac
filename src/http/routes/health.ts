/** GET /health (database check, JSON) and, unless METRICS_PORT moves it, GET /metrics (Prometheus text). */
import { Hono } from "hono";
import type { AppContext } from "../../context.ts";
import { metricsResponse } from "../../metrics/endpoint.ts";
import type { HealthResponse } from "../../shared/api.ts";

const VERSION = "0.1.0";
const DB_CHECK_TIMEOUT_MS = 2000;

export function healthRoutes(ctx: AppContext): Hono {
  const app = new Hono();

  app.get("/health", async (c) => {
    let database: HealthResponse["database"] = "ok";
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        ctx.database.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("timeout")), DB_CHECK_TIMEOUT_MS);
        }),
      ]);
    } catch {
      database = "error";
    } finally {
      clearTimeout(timer);
    }
    const cluster = ctx.clusterHealth?.();
    const body: HealthResponse = {
      status: database === "ok" && (!cluster || cluster.status === "ok") ? "ok" : "degraded",
      database,
      ...(cluster ? { redis: cluster.redis, node_id: cluster.nodeId } : {}),
      uptime_s: Math.round((Date.now() - ctx.startedAt) / 1000),
      version: VERSION,
    };
    // Without Redis a node still serves its own clients: degraded but up (200). Without its database it is not (503).
    return c.json(body, database === "ok" ? 200 : 503);
  });

  // With METRICS_PORT the endpoint lives on its own listener only (src/metrics/endpoint.ts).
  if (ctx.config.metricsPort === undefined)
    app.get("/metrics", (c) =>
      metricsResponse(ctx.config, ctx.metrics, c.req.raw, () => ctx.outboxMetrics.refresh()),
    );

  return app;
}
