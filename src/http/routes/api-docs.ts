/** GET /api/v1/openapi.json (the OpenAPI 3.1 document) and GET /api/docs (the reference page). */
import { Hono } from "hono";
import { API_DOCS_HTML } from "../openapi/docs-page.ts";
import { API_DOCS_PATH, buildOpenApiDocument, OPENAPI_PATH } from "../openapi/document.ts";

export function apiDocsRoutes(): Hono {
  const app = new Hono();
  const document = JSON.stringify(buildOpenApiDocument());
  app.get(OPENAPI_PATH, (c) => c.body(document, 200, { "content-type": "application/json; charset=utf-8" }));
  app.get(API_DOCS_PATH, (c) => c.html(API_DOCS_HTML));
  return app;
}
