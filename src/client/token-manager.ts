/**
 * Keeps an access token fresh: refreshes it through `POST /api/v1/auth/refresh` a little before its
 * `exp`, at most one refresh at a time, and tells listeners (the socket sends `auth:refresh`).
 */
import type { TokenResponse } from "../shared/api.ts";
import { Listeners } from "./emitter.ts";
import { ApiRequestError, CLIENT_ERROR_CODES } from "./errors.ts";
import { tokenExpiry } from "./jwt.ts";

/** The part of `ApiClient` the manager needs (a fake in unit tests). */
export interface TokenRefresher {
  refresh(refreshToken: string): Promise<TokenResponse>;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
}

export interface TokenManagerOptions {
  /** Who performs the refresh call. */
  refresher: TokenRefresher;
  /** The tokens from login. */
  tokens: TokenPair;
  /**
   * Refresh this long before `exp`, in milliseconds. Capped at a fifth of the token's remaining life so
   * short-lived tokens are not refreshed continuously. Default 60000.
   */
  refreshMarginMs?: number;
  /** After a failed refresh (network), try again after this many milliseconds. Default 5000. */
  retryDelayMs?: number;
  /** Clock in milliseconds since epoch (tests). Default `Date.now`. */
  now?: () => number;
}

export interface TokenManagerEvents {
  /** A new access token is in place. */
  refreshed: (accessToken: string) => void;
  /** The refresh token was refused: the session is over and the user must log in again. */
  expired: (error: ApiRequestError) => void;
}

/** HTTP statuses that mean the refresh token itself is no good (retrying will not help). */
const REFUSED_STATUSES = new Set([400, 401, 403]);

/**
 * A token this close to `exp` is refreshed before use even if the timer has not fired yet (a tab
 * that slept, a clock that differs a little from the server's).
 */
const CLOCK_SKEW_MS = 2_000;

export class TokenManager {
  readonly #refresher: TokenRefresher;
  readonly #marginMs: number;
  readonly #retryDelayMs: number;
  readonly #now: () => number;
  readonly #listeners = new Listeners<TokenManagerEvents>();
  #tokens: TokenPair;
  #inFlight: Promise<string> | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running = false;
  #expired = false;

  constructor(options: TokenManagerOptions) {
    this.#refresher = options.refresher;
    this.#tokens = options.tokens;
    this.#marginMs = options.refreshMarginMs ?? 60_000;
    this.#retryDelayMs = options.retryDelayMs ?? 5_000;
    this.#now = options.now ?? Date.now;
  }

  get accessToken(): string {
    return this.#tokens.access_token;
  }

  get refreshToken(): string {
    return this.#tokens.refresh_token;
  }

  /** The access token's `exp` in milliseconds since epoch, or null when it has none. */
  get expiresAt(): number | null {
    const exp = tokenExpiry(this.#tokens.access_token);
    return exp === null ? null : exp * 1000;
  }

  /** True once the refresh token was refused. */
  get sessionExpired(): boolean {
    return this.#expired;
  }

  on<E extends keyof TokenManagerEvents>(event: E, listener: TokenManagerEvents[E]): () => void {
    return this.#listeners.on(event, listener);
  }

  off<E extends keyof TokenManagerEvents>(event: E, listener?: TokenManagerEvents[E]): void {
    this.#listeners.off(event, listener);
  }

  /** Starts the refresh timer (idempotent). */
  start(): void {
    this.#running = true;
    this.#schedule();
  }

  /** Stops the refresh timer; tokens stay readable. */
  stop(): void {
    this.#running = false;
    this.#clearTimer();
  }

  /** Installs tokens obtained elsewhere (a new login). */
  setTokens(tokens: TokenPair): void {
    this.#tokens = tokens;
    this.#expired = false;
    this.#schedule();
  }

  /** The access token, refreshed first when it is due (expired or inside the margin). */
  async freshToken(): Promise<string> {
    return this.#isDue() ? this.refresh() : this.#tokens.access_token;
  }

  /** Refreshes now. Concurrent callers share one request. */
  refresh(): Promise<string> {
    if (!this.#inFlight) {
      this.#inFlight = this.#doRefresh().finally(() => {
        this.#inFlight = null;
      });
    }
    return this.#inFlight;
  }

  async #doRefresh(): Promise<string> {
    if (this.#expired) {
      throw new ApiRequestError(
        401,
        CLIENT_ERROR_CODES.sessionExpired,
        "the session has expired; log in again",
      );
    }
    try {
      const res = await this.#refresher.refresh(this.#tokens.refresh_token);
      this.#tokens = { access_token: res.access_token, refresh_token: res.refresh_token };
    } catch (err) {
      const error =
        err instanceof ApiRequestError
          ? err
          : new ApiRequestError(0, CLIENT_ERROR_CODES.network, `token refresh failed: ${String(err)}`);
      if (REFUSED_STATUSES.has(error.status)) {
        this.#expired = true;
        this.#clearTimer();
        this.#listeners.emit("expired", error);
      } else {
        this.#schedule(this.#retryDelayMs);
      }
      throw error;
    }
    this.#schedule();
    this.#listeners.emit("refreshed", this.#tokens.access_token);
    return this.#tokens.access_token;
  }

  /** Milliseconds before `exp` at which the token counts as due. */
  #margin(expiresAt: number): number {
    const remaining = expiresAt - this.#now();
    return Math.max(0, Math.min(this.#marginMs, remaining / 5));
  }

  #isDue(): boolean {
    const expiresAt = this.expiresAt;
    if (expiresAt === null) return false;
    return this.#now() >= expiresAt - Math.min(this.#marginMs, CLOCK_SKEW_MS);
  }

  #schedule(delayMs?: number): void {
    this.#clearTimer();
    if (!this.#running || this.#expired) return;
    const expiresAt = this.expiresAt;
    if (delayMs === undefined) {
      if (expiresAt === null) return;
      delayMs = Math.max(0, expiresAt - this.#margin(expiresAt) - this.#now());
    }
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.refresh().catch(() => {
        // Reported through `expired`, or retried by the timer #doRefresh set.
      });
    }, delayMs);
    // A pending refresh must not keep a Node/Bun process alive on its own.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
