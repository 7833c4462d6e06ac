/**
 * Typed calls to the REST API (`/api/v1`), for the browser and Node alike (only `fetch`).
 * Every method answers the shared response type or throws an `ApiRequestError`.
 */
import {
  API_PATHS,
  type AssignRequest,
  type ChangePasswordResponse,
  type ConversationActionResponse,
  type ConversationCounts,
  type ConversationListPage,
  type ConversationListQuery,
  type CreateUserRequest,
  IDEMPOTENCY_KEY_HEADER,
  type LoginResponse,
  type ManagedUser,
  type ManagedUserResponse,
  type MessagesPage,
  type MessagesQuery,
  type PresenceList,
  type RefreshResponse,
  type SendMessageRequest,
  type SendMessageResponse,
  type SimulatedCustomerRequest,
  type SimulatedCustomerResponse,
  type UpdateUserRequest,
  type UserListResponse,
  type UserSummary,
} from "../shared/api.ts";
import type { Message, Uuid } from "../shared/events.ts";
import { Backoff } from "./backoff.ts";
import { ApiRequestError, CLIENT_ERROR_CODES } from "./errors.ts";

/** The subset of `fetch` the client uses (so tests and proxies can pass their own). */
export type FetchLike = (input: URL, init: RequestInit) => Promise<Response>;

/** Gives the access token for an authenticated call (may refresh it first). */
export type AccessTokenProvider = () => string | Promise<string>;

export interface ApiClientOptions {
  /** Origin of the server, e.g. "http://127.0.0.1:8000". Default "" (same origin, for the browser). */
  baseUrl?: string;
  /** Where the bearer token comes from; calls that need one fail with 401 without it. Default none. */
  accessToken?: AccessTokenProvider;
  /** The fetch to use (tests, proxies). Default the global `fetch`. */
  fetch?: FetchLike;
  /** Give up on a request after this many milliseconds. Default 10000. */
  timeoutMs?: number;
  /**
   * How often a send is repeated (with its idempotency key) after a network error or a 503, before
   * the error is thrown. Default 4.
   */
  sendRetries?: number;
  /** Delays between those repeats. Default 250 ms doubling up to 4 s. */
  sendBackoff?: { minMs: number; maxMs: number };
}

/** Options of one send. */
export interface SendOptions {
  /**
   * The idempotency key of this composed message. Default: a fresh one per call. Pass the same key
   * when sending the same composed message again (e.g. after the user pressed Send once more): the
   * server then answers with the first message instead of sending a second.
   */
  idempotencyKey?: string;
}

/** A new idempotency key (a random UUID): one per composed message. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

/** Failures after which the same request may simply be repeated: nothing answered, or "retry shortly". */
const isTransient = (err: unknown): boolean =>
  err instanceof ApiRequestError && (err.status === 0 || err.status === 503);

/** Upper bound on catch-up pages, so a server that keeps answering `next_cursor` cannot loop us forever. */
const MAX_CATCH_UP_PAGES = 100;

export class ApiClient {
  readonly baseUrl: string;
  #accessToken: AccessTokenProvider | undefined;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;
  readonly #sendRetries: number;
  readonly #sendBackoff: { minMs: number; maxMs: number };

  constructor(options: ApiClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? "").replace(/\/+$/, "");
    this.#accessToken = options.accessToken;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#sendRetries = options.sendRetries ?? 4;
    this.#sendBackoff = options.sendBackoff ?? { minMs: 250, maxMs: 4000 };
  }

  /** Sets where authenticated calls take their token (the `TokenManager` does this). */
  setAccessToken(provider: AccessTokenProvider | undefined): void {
    this.#accessToken = provider;
  }

  login(email: string, password: string): Promise<LoginResponse> {
    return this.#request("POST", API_PATHS.login, { body: { email, password }, auth: false });
  }

  refresh(refreshToken: string): Promise<RefreshResponse> {
    return this.#request("POST", API_PATHS.refresh, { body: { refresh_token: refreshToken }, auth: false });
  }

  /** Ends the session of this refresh token on the server (its sockets are closed too). */
  async logout(refreshToken: string): Promise<void> {
    await this.#request("POST", API_PATHS.logout, { body: { refresh_token: refreshToken }, auth: false });
  }

  /**
   * Changes one's own password. Every session of the user ends (their sockets are closed); the answer
   * holds the tokens of a new session: hand them to `TokenManager.setTokens`.
   */
  changePassword(currentPassword: string, newPassword: string): Promise<ChangePasswordResponse> {
    return this.#request("POST", API_PATHS.password, {
      body: { current_password: currentPassword, new_password: newPassword },
    });
  }

  /** org_admin: the users of one's organization. */
  async listUsers(): Promise<ManagedUser[]> {
    return (await this.#request<UserListResponse>("GET", API_PATHS.users)).data;
  }

  /** org_admin: creates a user; without `password` the answer carries a generated one (shown once). */
  createUser(request: CreateUserRequest): Promise<ManagedUserResponse> {
    return this.#request("POST", API_PATHS.users, { body: request });
  }

  /** org_admin: changes a user's name, role or active flag. */
  async updateUser(userId: Uuid, changes: UpdateUserRequest): Promise<ManagedUser> {
    return (await this.#request<{ user: ManagedUser }>("PATCH", API_PATHS.user(userId), { body: changes }))
      .user;
  }

  /** org_admin: sets a user's password; without `password` one is generated and answered once. */
  resetPassword(userId: Uuid, password?: string): Promise<ManagedUserResponse> {
    return this.#request("POST", API_PATHS.userPassword(userId), {
      body: password === undefined ? {} : { password },
    });
  }

  me(): Promise<UserSummary> {
    return this.#request("GET", API_PATHS.me);
  }

  listConversations(query: ConversationListQuery = {}): Promise<ConversationListPage> {
    return this.#request("GET", API_PATHS.conversations, { query: { ...query } });
  }

  /** One page of a conversation's messages (newest first, or oldest first with `after`). */
  listMessages(conversationId: Uuid, query: MessagesQuery = {}): Promise<MessagesPage> {
    return this.#request("GET", API_PATHS.messages(conversationId), { query: { ...query } });
  }

  /** Every message with a seq above `afterSeq`, oldest first, following `next_cursor` to the end. */
  async messagesAfter(conversationId: Uuid, afterSeq: number, pageSize = 100): Promise<Message[]> {
    const all: Message[] = [];
    let after: number | string = afterSeq;
    for (let page = 0; page < MAX_CATCH_UP_PAGES; page++) {
      const res = await this.listMessages(conversationId, { after: Number(after), limit: pageSize });
      all.push(...res.data);
      if (res.next_cursor === null || res.data.length === 0) break;
      after = res.next_cursor;
    }
    return all;
  }

  /**
   * Sends a message under an idempotency key, repeating the request with the same key after a
   * network error or a 503: a request that did reach the server is answered with the message it
   * created (200), so a flaky network never sends a message twice.
   */
  async sendMessage(
    conversationId: Uuid,
    request: SendMessageRequest,
    options: SendOptions = {},
  ): Promise<SendMessageResponse> {
    const key = options.idempotencyKey ?? request.client_message_id ?? newIdempotencyKey();
    const backoff = new Backoff(this.#sendBackoff);
    for (;;) {
      try {
        return await this.#request("POST", API_PATHS.messages(conversationId), {
          body: request,
          headers: { [IDEMPOTENCY_KEY_HEADER]: key },
        });
      } catch (err) {
        if (!isTransient(err) || backoff.attempts >= this.#sendRetries) throw err;
        await new Promise((resolve) => setTimeout(resolve, backoff.next()));
      }
    }
  }

  /** GET /conversations/counts: conversations to handle per inbox tab. */
  conversationCounts(): Promise<ConversationCounts> {
    return this.#request("GET", API_PATHS.conversationCounts);
  }

  /** Takes a queued conversation (409 `already_claimed` when someone was faster). */
  claim(conversationId: Uuid): Promise<ConversationActionResponse> {
    return this.#request("POST", API_PATHS.conversationAction(conversationId, "claim"));
  }

  /** Assigns to an active agent or org_admin, or back to the queue with null. */
  assign(conversationId: Uuid, agentId: Uuid | null): Promise<ConversationActionResponse> {
    const body: AssignRequest = { agent_id: agentId };
    return this.#request("POST", API_PATHS.conversationAction(conversationId, "assign"), { body });
  }

  resolve(conversationId: Uuid): Promise<ConversationActionResponse> {
    return this.#request("POST", API_PATHS.conversationAction(conversationId, "resolve"));
  }

  reopen(conversationId: Uuid): Promise<ConversationActionResponse> {
    return this.#request("POST", API_PATHS.conversationAction(conversationId, "reopen"));
  }

  /** GET /presence: the organization's agents and admins with their availability. */
  presence(): Promise<PresenceList> {
    return this.#request("GET", API_PATHS.presence);
  }

  /** Sends a text message (the common case of `sendMessage`). */
  sendText(conversationId: Uuid, text: string, options: SendOptions = {}): Promise<SendMessageResponse> {
    return this.sendMessage(conversationId, { message_type: "text", content: { text } }, options);
  }

  /**
   * A stored media file (`content.url` of a message with `media_id`), read with the bearer token.
   * Rejects with an ApiRequestError (409 `media_pending` while the server is still fetching it).
   */
  async fetchMedia(path: string): Promise<Blob> {
    const url = new URL(this.baseUrl + path, this.baseUrl ? undefined : globalThis.location?.href);
    const headers: Record<string, string> = {};
    if (this.#accessToken) headers.authorization = `Bearer ${await this.#accessToken()}`;
    let res: Response;
    try {
      res = await this.#fetch(url, { method: "GET", headers, signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (err) {
      throw new ApiRequestError(0, CLIENT_ERROR_CODES.network, `GET ${path} failed: ${String(err)}`);
    }
    if (!res.ok) throw ApiRequestError.fromBody(res.status, await res.json().catch(() => null));
    return res.blob();
  }

  /** Sends a failed message again (same message, new attempt); 409 unless it is failed. */
  retryMessage(conversationId: Uuid, messageId: Uuid): Promise<SendMessageResponse> {
    return this.#request("POST", API_PATHS.retryMessage(conversationId, messageId));
  }

  /** Sends a template (the only message allowed outside the 24-hour service window). */
  sendTemplate(conversationId: Uuid, templateName: string, language: string): Promise<SendMessageResponse> {
    return this.sendMessage(conversationId, {
      message_type: "template",
      content: { template_name: templateName, language },
    });
  }

  /** True when the server runs the sandbox channel (its demo tools exist); false on a 404. */
  async sandboxEnabled(): Promise<boolean> {
    try {
      await this.#request("GET", API_PATHS.sandbox);
      return true;
    } catch (err) {
      if (err instanceof ApiRequestError && err.status === 404) return false;
      throw err;
    }
  }

  /** Sandbox only: a customer writes in (stored through the real inbound path). */
  simulateCustomer(request: SimulatedCustomerRequest): Promise<SimulatedCustomerResponse> {
    return this.#request("POST", API_PATHS.sandboxCustomerMessages, { body: request });
  }

  async #request<T>(
    method: "GET" | "POST" | "PATCH",
    path: string,
    opts: {
      body?: unknown;
      query?: Record<string, string | number | undefined>;
      auth?: boolean;
      headers?: Record<string, string>;
    } = {},
  ): Promise<T> {
    const url = new URL(this.baseUrl + path, this.baseUrl ? undefined : globalThis.location?.href);
    for (const [key, value] of Object.entries(opts.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: "application/json", ...opts.headers };
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    if (opts.auth !== false && this.#accessToken) {
      headers.authorization = `Bearer ${await this.#accessToken()}`;
    }

    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw new ApiRequestError(0, CLIENT_ERROR_CODES.network, `${method} ${path} failed: ${String(err)}`);
    }
    if (res.status === 204) return undefined as T;
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) throw ApiRequestError.fromBody(res.status, body);
    if (body === null) throw new ApiRequestError(res.status, CLIENT_ERROR_CODES.badResponse, "empty body");
    return body as T;
  }
}
