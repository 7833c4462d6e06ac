/**
 * GET /metrics (Prometheus text). Two guards, either enough for production (the checklist asks for
 * one): METRICS_TOKEN requires `Authorization: Bearer <token>`, and METRICS_PORT moves the endpoint
 * off the public port onto its own listener (METRICS_HOST, default 127.0.0.1) that scrapers reach
 * on the internal network.
 */
import { timingSafeEqual } from "node:crypto";
import type { Server as BunServer } from "bun";
import type { Config } from "../config.ts";
import type { ChatMetrics } from "./chat-metrics.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./registry.ts";

const json = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  Response.json({ error: { code, message } }, { status, headers });

function bearerMatches(header: string | null, token: string): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  if (!match) return false;
  const given = Buffer.from(match[1] as string);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Answers a request for /metrics: the exposition, or 401 when METRICS_TOKEN is set and not presented.
 * `refresh` updates the gauges read from the database (the outbox's depth and oldest age) first.
 */
export async function metricsResponse(
  config: Pick<Config, "metricsToken">,
  metrics: ChatMetrics,
  req: Request,
  refresh?: () => Promise<void>,
): Promise<Response> {
  if (
    config.metricsToken !== undefined &&
    !bearerMatches(req.headers.get("authorization"), config.metricsToken)
  )
    return json(401, "unauthorized", "metrics need the bearer token of METRICS_TOKEN", {
      "www-authenticate": 'Bearer realm="metrics"',
    });
  await refresh?.();
  return new Response(req.method === "HEAD" ? null : metrics.render(), {
    headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
  });
}

/** The internal listener of METRICS_PORT: /metrics and nothing else. */
export function startMetricsServer(
  config: Config,
  metrics: ChatMetrics,
  refresh?: () => Promise<void>,
): BunServer<unknown> {
  return Bun.serve({
    hostname: config.metricsHost,
    port: config.metricsPort,
    // `--workers N`: every worker binds it; a scrape reaches one worker (per-process figures).
    reusePort: config.reusePort,
    fetch: (req) => {
      const { pathname } = new URL(req.url);
      if (pathname !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD"))
        return json(404, "not_found", `no route for ${req.method} ${pathname}`);
      return metricsResponse(config, metrics, req, refresh);
    },
  }) as BunServer<unknown>;
}
