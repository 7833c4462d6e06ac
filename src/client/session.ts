/**
 * The usual way in: log in, and get an API client, a token manager and a socket client wired to one
 * another (the API and the socket both take their token from the manager, which keeps it fresh).
 */
import type { TokenResponse, UserSummary } from "../shared/api.ts";
import { ApiClient } from "./api-client.ts";
import { SocketClient, type SocketClientOptions } from "./socket-client.ts";
import { TokenManager, type TokenManagerOptions } from "./token-manager.ts";

export interface SessionOptions {
  /** Server origin, e.g. "http://127.0.0.1:8000". Default "" (the page's origin). */
  baseUrl?: string;
  /** Tokens from an earlier login (a stored session); when given, no login call is made. */
  tokens?: TokenResponse;
  /** Credentials for a login call when `tokens` is not given. */
  email?: string;
  password?: string;
  /** Passed to the `TokenManager` (refresh margin, retry delay). */
  tokenOptions?: Omit<TokenManagerOptions, "refresher" | "tokens">;
  /** Passed to the `SocketClient` (transports, timeouts). */
  socketOptions?: Omit<SocketClientOptions, "auth" | "api" | "url">;
}

export interface Session {
  api: ApiClient;
  tokens: TokenManager;
  socket: SocketClient;
  user: UserSummary;
}

/** Logs in (or resumes stored tokens) and builds a connected-ready session; call `socket.connect()`. */
export async function createSession(options: SessionOptions): Promise<Session> {
  const baseUrl = options.baseUrl ?? "";
  const api = new ApiClient({ baseUrl });
  let response = options.tokens;
  if (!response) {
    if (options.email === undefined || options.password === undefined) {
      throw new TypeError("createSession needs either tokens or email and password");
    }
    response = await api.login(options.email, options.password);
  }
  const tokens = new TokenManager({ ...options.tokenOptions, refresher: api, tokens: response });
  api.setAccessToken(() => tokens.freshToken());
  const socket = new SocketClient({
    ...options.socketOptions,
    ...(options.baseUrl === undefined ? {} : { url: baseUrl }),
    auth: tokens,
    api,
  });
  return { api, tokens, socket, user: response.user };
}
