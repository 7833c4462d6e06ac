/**
 * HTTP errors as JSON everywhere: `{"error": {"code", "message", "field"?}}` (src/shared/api.ts
 * ApiError). Route code throws HttpError; the app's onError turns anything into that shape.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { isDatabaseUnavailable } from "../../db/errors.ts";
import { createLogger } from "../../protocol/logger.ts";
import type { ApiError } from "../shared/api.ts";

const log = createLogger("http");

export const HTTP_ERROR_CODES = {
  validation: "validation_error",
  unauthorized: "unauthorized",
  forbidden: "forbidden",
  notFound: "not_found",
  payloadTooLarge: "payload_too_large",
  unsupportedMediaType: "unsupported_media_type",
  rateLimited: "rate_limited",
  /** A free-form message to a contact whose 24-hour service window is closed (send a template). */
  outsideServiceWindow: "outside_service_window",
  internal: "internal_error",
  unavailable: "service_unavailable",
} as const;

export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** 400 naming the offending field. */
export const invalid = (field: string, message: string): HttpError =>
  new HttpError(400, HTTP_ERROR_CODES.validation, `${field}: ${message}`, field);

export const unauthorized = (message: string, code: string = HTTP_ERROR_CODES.unauthorized): HttpError =>
  new HttpError(401, code, message);

export const notFound = (what: string): HttpError =>
  new HttpError(404, HTTP_ERROR_CODES.notFound, `${what} not found`);

export function errorBody(code: string, message: string, field?: string): ApiError {
  return { error: field ? { code, message, field } : { code, message } };
}

export function errorResponse(c: Context, err: unknown): Response {
  if (err instanceof HttpError) {
    if (err.status === 401) c.header("WWW-Authenticate", 'Bearer realm="switchboard"');
    return c.json(errorBody(err.code, err.message, err.field), err.status);
  }
  if (isDatabaseUnavailable(err)) {
    log.warn("database unavailable", { path: c.req.path, error: err });
    c.header("Retry-After", "1");
    return c.json(errorBody(HTTP_ERROR_CODES.unavailable, "the database is unavailable; retry shortly"), 503);
  }
  log.error("unhandled error in HTTP handler", { path: c.req.path, method: c.req.method, error: err });
  return c.json(errorBody(HTTP_ERROR_CODES.internal, "internal server error"), 500);
}
