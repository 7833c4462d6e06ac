/** The OpenAPI 3.1 document of the REST API, built from the route table (routes.ts). */
import type { JsonSchema } from "../schema.ts";
import { COMPONENT_SCHEMAS } from "./components.ts";
import { API_ROUTES, type ApiRoute } from "./routes.ts";

export const OPENAPI_PATH = "/api/v1/openapi.json";
export const API_DOCS_PATH = "/api/docs";

/** Hono's `/a/:id/b` → OpenAPI's `/a/{id}/b`. */
export const openApiPath = (path: string): string => path.replace(/:([A-Za-z_]\w*)/g, "{$1}");

function parameters(route: ApiRoute): JsonSchema[] {
  const list: JsonSchema[] = [];
  for (const [where, schema] of [
    ["path", route.params],
    ["query", route.query],
    ["header", route.headers],
  ] as const) {
    if (!schema) continue;
    for (const [name, field] of Object.entries(schema.shape))
      list.push({
        name,
        in: where,
        required: where === "path" || field.required,
        // A parameter is a string or absent, never null: the schema of its value.
        schema: field.paramJson ?? field.json,
      });
  }
  return list;
}

function operation(route: ApiRoute): JsonSchema {
  const op: JsonSchema = {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(route.auth ? { security: [{ bearer: [] }] } : { security: [] }),
    responses: Object.fromEntries(
      Object.entries(route.responses).map(([status, r]) => [
        status,
        {
          description: r.description,
          ...(r.schema ? { content: { [r.contentType ?? "application/json"]: { schema: r.schema } } } : {}),
        },
      ]),
    ),
  };
  const params = parameters(route);
  if (params.length > 0) op.parameters = params;
  if (route.body)
    op.requestBody = { required: true, content: { "application/json": { schema: route.body.json } } };
  if (route.rawBody)
    op.requestBody = {
      required: true,
      description: route.rawBody.description,
      content: Object.fromEntries(
        route.rawBody.contentTypes.map((type) => [type, { schema: { type: "string", format: "binary" } }]),
      ),
    };
  return op;
}

export function buildOpenApiDocument(
  routes: readonly ApiRoute[] = API_ROUTES,
  version = "0.1.0",
): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    paths[path] ??= {};
    (paths[path] as Record<string, JsonSchema>)[route.method] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Switchboard REST API",
      version,
      description:
        'REST API of the Switchboard chat server. Errors are always {"error": {"code", "message", "field"?}}; a request the schemas here reject is a 400 naming the field. String lengths count UTF-16 code units, a password also needs at least 4 different characters (stated, not encoded as a pattern: 400 weak_password), and stored text is measured after control characters are removed (docs/inbound.md). Live events go over Socket.IO (docs/events.md).',
    },
    servers: [{ url: "/" }],
    tags: [
      { name: "auth", description: "Tokens" },
      { name: "conversations", description: "Conversations and messages" },
      { name: "users", description: "User administration (org_admin)" },
      { name: "presence", description: "Who is online" },
      { name: "media", description: "Media files" },
      { name: "sandbox", description: "The sandbox channel (CHANNEL=sandbox)" },
      { name: "webhooks", description: "WhatsApp Cloud API webhooks" },
      { name: "operations", description: "Health, metrics, this reference" },
    ],
    paths,
    components: {
      schemas: COMPONENT_SCHEMAS,
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
    },
  };
}
