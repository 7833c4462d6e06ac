/** The Engine.IO v4 server: `new Engine(opts)`, like the engine.io package, on Bun.serve. */

export type * from "./contract.ts";
export type { CookieOptions } from "./cookie.ts";
export {
  type ConnectionErrorEvent,
  Engine,
  type EngineEvents,
  type EngineHandler,
  type ResponseHeaders,
} from "./engine.ts";
export {
  CloseReason,
  ENGINE_ERROR_MESSAGES,
  EngineErrorCode,
  TransportError,
  WsCloseCode,
} from "./errors.ts";
export {
  type AllowRequest,
  type AllowRequestCallback,
  type AllowRequestResult,
  type CorsOptions,
  type CorsOrigin,
  ENGINE_DEFAULTS,
  type EngineOptions,
  type FallbackHandler,
  type HttpCompressionOptions,
} from "./options.ts";
export type { EngineSession, EngineWsData, SessionPhase } from "./session.ts";
