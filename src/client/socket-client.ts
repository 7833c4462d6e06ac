/**
 * The typed real-time client: the stock `socket.io-client` wrapped with what every Switchboard front
 * end needs and would otherwise re-implement — typed events (from src/shared/events.ts, so a payload
 * change breaks the build here and on the server), re-joining conversations after a reconnect,
 * catching up missed messages through `?after=`, gap detection on `seq`, de-duplication by id,
 * forward-only statuses, and token refresh (`auth:refresh`, or a reconnect with the new token).
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import type { Conversation } from "../shared/api.ts";
import type {
  Ack,
  AckResponse,
  AuthRefreshResult,
  ClientToServerEvents,
  ConnectedEvent,
  ConversationAssignedEvent,
  ConversationViewersEvent,
  ErrorCode,
  ErrorEvent,
  JoinedConversation,
  LeftConversation,
  Message,
  MessageStatusEvent,
  PongEvent,
  PresenceEvent,
  ServerToClientEvents,
  UserTypingEvent,
  Uuid,
} from "../shared/events.ts";
import { ERROR_CODES } from "../shared/events.ts";
import { ApiClient, type SendOptions } from "./api-client.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { ConversationLedger, isStatusAdvance } from "./conversation-ledger.ts";
import { Listeners } from "./emitter.ts";
import {
  type ApiRequestError,
  CLIENT_ERROR_CODES,
  type ClientErrorCode,
  isFinalHandshakeRefusal,
  isFinalJoinRefusal,
  SocketRequestError,
} from "./errors.ts";
import type { TokenManager } from "./token-manager.ts";

export type TypedSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * Where the connection stands. `reconnecting`: lost (or refused for a passing reason such as
 * `internal_error`), the client retries by itself with backoff. `disconnected`:
 * closed on purpose (by `disconnect()` or by the server, e.g. a newer connection of the same user),
 * no retry. `unauthorized`: the server refused the token and no refresh helps; log in again.
 */
export type ConnectionState =
  | "idle"
  | "connecting"
  | "connected"
  | "reconnecting"
  | "disconnected"
  | "unauthorized";

export interface ConnectionChange {
  state: ConnectionState;
  /** socket.io's disconnect reason, or the connect error's message. */
  reason?: string;
  /** The server's machine-readable code when it gave one (`token_expired`, `connection_limit`, …). */
  code?: ErrorCode | ClientErrorCode;
}

/** How a message reached the client: pushed live, fetched to fill a gap or after a reconnect, or sent by us. */
export type MessageSource = "live" | "catch-up" | "self";

export interface SocketClientEvents {
  /** A message not seen before (duplicates are dropped). */
  "message:new": (message: Message, source: MessageSource) => void;
  /** A status that moves a message forward (duplicates and backward moves are dropped). */
  "message:status": (event: MessageStatusEvent) => void;
  user_typing: (event: UserTypingEvent) => void;
  /**
   * A conversation the user may watch changed in the inbox (a message was stored in it, or it is new),
   * whether or not it is joined. Not replayed after a reconnect: reload the list on `connected`.
   */
  "conversation:updated": (conversation: Conversation) => void;
  /** A conversation was assigned to this user (claim, assign, reopen for them). */
  "conversation:assigned": (event: ConversationAssignedEvent) => void;
  /** The server took this socket out of a conversation (`reason: "access_revoked"`): it is no longer watched. */
  "conversation:revoked": (event: LeftConversation) => void;
  /** Who watches a joined conversation changed. */
  "conversation:viewers": (event: ConversationViewersEvent) => void;
  /** A user of the organization became online, away or offline. */
  "presence:updated": (event: PresenceEvent) => void;
  connection: (change: ConnectionChange) => void;
  /** The server's `connected` greeting after each (re)connection. */
  connected: (event: ConnectedEvent) => void;
  /** An `error` event from the server, or a background failure (catch-up, refresh). */
  error: (error: ErrorEvent | SocketRequestError | ApiRequestError) => void;
  /** A catch-up of a conversation finished; `count` new messages were delivered by it. */
  caught_up: (conversationId: Uuid, count: number) => void;
}

export interface SocketClientOptions {
  /** Server origin, e.g. "http://127.0.0.1:8000". Default: the page's origin (browser). */
  url?: string;
  /** The access token, or a `TokenManager` that keeps it fresh (then refresh happens by itself). */
  auth: string | TokenManager;
  /** REST client for catch-up and `send`. Default: one for `url`, authenticated like the socket. */
  api?: ApiClient;
  /** Engine.IO path. Default "/socket.io". */
  path?: string;
  /** Transports, in the order tried. Default ["polling", "websocket"] (polling first, then upgrade). */
  transports?: ("polling" | "websocket" | "webtransport")[];
  /** How long to wait for an acknowledgement, in milliseconds. Default 5000. */
  ackTimeoutMs?: number;
  /**
   * First reconnection delay in milliseconds (grows up to `reconnectionDelayMaxMs`); also the first
   * delay before retrying a handshake the server refused with "retry later". Default 500.
   */
  reconnectionDelayMs?: number;
  /** Upper bound of the reconnection delay in milliseconds. Default 5000. */
  reconnectionDelayMaxMs?: number;
  /** Newest messages re-read after a reconnect to pick up status changes missed meanwhile. Default 50. */
  statusResyncLimit?: number;
  /** Anything else for `io()` (extra headers, a custom parser). Overrides the options above. */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
}

/** Reasons (socket.io's wire strings) for which socket.io-client does not reconnect by itself. */
const DELIBERATE_DISCONNECTS = new Set<string>(["io server disconnect", "io client disconnect"]);

/** An `error` event this recent explains a server-side disconnect that follows it. */
const DISCONNECT_EXPLANATION_WINDOW_MS = 2_000;

export class SocketClient {
  readonly api: ApiClient;
  readonly #socket: TypedSocket;
  readonly #tokens: TokenManager | null;
  readonly #staticToken: string | null;
  readonly #ackTimeoutMs: number;
  readonly #statusResyncLimit: number;
  /** Wait before retrying a token refresh that failed for lack of a server (the reconnection ceiling). */
  readonly #retryDelayMs: number;
  readonly #listeners = new Listeners<SocketClientEvents>();
  /** Conversations the user wants to watch; re-joined after every reconnect. */
  readonly #ledgers = new Map<Uuid, ConversationLedger>();
  /** Conversations with a catch-up running → whether another one is wanted when it ends. */
  readonly #catchingUp = new Map<Uuid, boolean>();
  readonly #unsubscribeTokens: (() => void)[] = [];
  /** Delays of the retries the client runs itself: reconnectionDelayMs .. reconnectionDelayMaxMs. */
  readonly #retryBackoff: BackoffOptions;
  /** Delays between retries of handshakes refused for a passing reason (socket.io-client gives up on those). */
  readonly #handshakeBackoff: Backoff;
  #handshakeRetry: ReturnType<typeof setTimeout> | null = null;
  /** Re-joins refused for a passing reason (rate_limited, internal_error, no answer), waiting to retry. */
  readonly #rejoinRetries = new Map<
    Uuid,
    { backoff: Backoff; timer: ReturnType<typeof setTimeout> | null }
  >();
  #state: ConnectionState = "idle";
  #everConnected = false;
  #lastError: { code: ErrorCode; at: number } | null = null;
  #userId: Uuid | null = null;

  constructor(options: SocketClientOptions) {
    this.#tokens = typeof options.auth === "string" ? null : options.auth;
    this.#staticToken = typeof options.auth === "string" ? options.auth : null;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 5000;
    this.#statusResyncLimit = options.statusResyncLimit ?? 50;
    this.#retryDelayMs = options.reconnectionDelayMaxMs ?? 5000;
    this.#retryBackoff = { minMs: options.reconnectionDelayMs ?? 500, maxMs: this.#retryDelayMs };
    this.#handshakeBackoff = new Backoff(this.#retryBackoff);
    this.api = options.api ?? new ApiClient({ baseUrl: options.url ?? "", accessToken: () => this.#token() });

    const socketOptions: Partial<ManagerOptions & SocketOptions> = {
      path: options.path ?? "/socket.io",
      transports: options.transports ?? ["polling", "websocket"],
      reconnectionDelay: options.reconnectionDelayMs ?? 500,
      reconnectionDelayMax: options.reconnectionDelayMaxMs ?? 5000,
      autoConnect: false,
      // Each client carries its own token: never share a Manager (and its connection) with another.
      forceNew: true,
      // Evaluated at every (re)connection, so a reconnect always presents the newest token.
      auth: (cb) => {
        this.#token().then(
          (token) => cb({ token }),
          () => cb({ token: this.#tokens?.accessToken ?? "" }),
        );
      },
      ...options.socketOptions,
    };
    this.#socket = options.url === undefined ? io(socketOptions) : io(options.url, socketOptions);
    this.#wireSocket();

    if (this.#tokens) {
      const tokens = this.#tokens;
      this.#unsubscribeTokens.push(
        tokens.on("refreshed", (token) => this.#onTokenRefreshed(token)),
        tokens.on("expired", (error) => this.#listeners.emit("error", error)),
      );
    }
  }

  /** The socket's id while connected. */
  get id(): string | undefined {
    return this.#socket.id;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The user id the server greeted us with (`connected`), once known. */
  get userId(): Uuid | null {
    return this.#userId;
  }

  /** Conversations being watched (joined, or to be re-joined on reconnect). */
  get conversations(): Uuid[] {
    return [...this.#ledgers.keys()];
  }

  isConnected(): boolean {
    return this.#socket.connected;
  }

  /** Connects; resolves once the server accepted the handshake. */
  connect(timeoutMs = 10_000): Promise<void> {
    if (this.#socket.connected) return Promise.resolve();
    this.#tokens?.start();
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        offConnect();
        offState();
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(
        () => done(new SocketRequestError(CLIENT_ERROR_CODES.ackTimeout, "connection timed out", "connect")),
        timeoutMs,
      );
      const onConnect = () => done();
      this.#socket.once("connect", onConnect);
      const offConnect = () => this.#socket.off("connect", onConnect);
      const offState = this.#listeners.on("connection", (change) => {
        if (change.state === "unauthorized" || change.state === "disconnected") {
          done(
            new SocketRequestError(
              change.code ?? ERROR_CODES.invalidToken,
              change.reason ?? "refused",
              "connect",
            ),
          );
        }
      });
      this.#setState("connecting");
      this.#socket.connect();
    });
  }

  /** Closes the connection for good (no reconnection) and stops refreshing the token. */
  disconnect(): void {
    this.#cancelHandshakeRetry();
    this.#cancelRejoinRetries();
    this.#socket.disconnect();
    this.#tokens?.stop();
    // socket.io-client emits no "disconnect" when the socket was not connected (e.g. while retrying).
    this.#setState("disconnected", { reason: "io client disconnect" });
  }

  /**
   * Closes the underlying transport the way a network failure would ("transport close"), so the
   * client reconnects, re-joins and catches up by itself. For tests and diagnostics.
   */
  dropTransport(): void {
    this.#socket.io.engine?.close();
  }

  /** `disconnect()` plus dropping every listener; the client is not usable afterwards. */
  close(): void {
    this.disconnect();
    for (const unsubscribe of this.#unsubscribeTokens) unsubscribe();
    this.#listeners.clear();
    this.#socket.removeAllListeners();
  }

  /**
   * Watches a conversation: joins its room and remembers it, so it is re-joined after every reconnect.
   * Rejects with the server's reason when refused. A final refusal (`conversation_not_found`,
   * `forbidden`, `too_many_conversations`) ends the watch; after a passing one (`rate_limited`,
   * `internal_error`, no answer, not connected) the conversation stays watched and is joined again
   * in the background (`leaveConversation` gives up on it).
   */
  async joinConversation(conversationId: Uuid): Promise<JoinedConversation> {
    if (!this.#ledgers.has(conversationId))
      this.#ledgers.set(conversationId, new ConversationLedger(conversationId));
    try {
      return await this.#join(conversationId);
    } catch (err) {
      if (err instanceof SocketRequestError && isFinalJoinRefusal(err.code)) this.#forget(conversationId);
      else this.#retryRejoin(conversationId);
      throw err;
    }
  }

  /** Stops watching a conversation. */
  async leaveConversation(conversationId: Uuid): Promise<void> {
    this.#forget(conversationId);
    if (!this.#socket.connected) return;
    await this.#ack<LeftConversation>("leave_conversation", (ack) =>
      this.#socket.emit("leave_conversation", { conversation_id: conversationId }, ack),
    );
  }

  /**
   * The newest page of a conversation's history (oldest first), recorded so that live copies of these
   * messages are recognised as duplicates.
   */
  async loadHistory(conversationId: Uuid, limit = 50): Promise<Message[]> {
    const page = await this.api.listMessages(conversationId, { limit });
    const ledger = this.#ledgers.get(conversationId);
    ledger?.observeHistory(page.data);
    // The page may be older than a status already heard (live, or before the message): show the later one.
    return [...page.data]
      .sort((a, b) => a.seq - b.seq)
      .map((message) => {
        const known = ledger?.statusOf(message.id);
        return known && isStatusAdvance(message.status, known) ? { ...message, status: known } : message;
      });
  }

  /**
   * Sends a text message through the REST API. The stored message is delivered to `message:new` at
   * once (source "self"); its live copy from the server is then dropped as a duplicate.
   */
  async sendText(conversationId: Uuid, text: string, options: SendOptions = {}): Promise<Message> {
    const { message } = await this.api.sendText(conversationId, text, options);
    this.#deliver(message, "self");
    return message;
  }

  /** Tells the conversation's other watchers that this user is typing (dropped while offline). */
  startTyping(conversationId: Uuid): void {
    if (this.#socket.connected) this.#socket.emit("typing_start", { conversation_id: conversationId });
  }

  stopTyping(conversationId: Uuid): void {
    if (this.#socket.connected) this.#socket.emit("typing_stop", { conversation_id: conversationId });
  }

  onNewMessage(listener: SocketClientEvents["message:new"]): () => void {
    return this.#listeners.on("message:new", listener);
  }

  onMessageStatus(listener: SocketClientEvents["message:status"]): () => void {
    return this.#listeners.on("message:status", listener);
  }

  onTyping(listener: SocketClientEvents["user_typing"]): () => void {
    return this.#listeners.on("user_typing", listener);
  }

  onConversationUpdated(listener: SocketClientEvents["conversation:updated"]): () => void {
    return this.#listeners.on("conversation:updated", listener);
  }

  /** The server's greeting after each (re)connection: the moment to reload what is not replayed. */
  onConnected(listener: SocketClientEvents["connected"]): () => void {
    return this.#listeners.on("connected", listener);
  }

  onConnectionChange(listener: SocketClientEvents["connection"]): () => void {
    return this.#listeners.on("connection", listener);
  }

  onError(listener: SocketClientEvents["error"]): () => void {
    return this.#listeners.on("error", listener);
  }

  /** Subscribes to any client event (the `on*` methods are shorthands). */
  on<E extends keyof SocketClientEvents>(event: E, listener: SocketClientEvents[E]): () => void {
    return this.#listeners.on(event, listener);
  }

  /** Removes one listener, or all listeners of the event. */
  off<E extends keyof SocketClientEvents>(event: E, listener?: SocketClientEvents[E]): void {
    this.#listeners.off(event, listener);
  }

  /** Sets this user's availability on every connection of theirs; answers the resulting presence. */
  async setPresence(status: "online" | "away"): Promise<PresenceEvent> {
    return this.#ack<PresenceEvent>("presence:set", (ack) =>
      this.#socket.emit("presence:set", { status }, ack),
    );
  }

  /** Round trip to the server (`ping` → `pong`); answers the server's time. */
  async ping(): Promise<string> {
    const res = await this.#ack<PongEvent>("ping", (ack) => this.#socket.emit("ping", ack));
    return res.timestamp;
  }

  #token(): Promise<string> {
    if (this.#tokens) return this.#tokens.freshToken();
    return Promise.resolve(this.#staticToken ?? "");
  }

  #setState(state: ConnectionState, detail: Omit<ConnectionChange, "state"> = {}): void {
    if (state === this.#state && state !== "reconnecting") return;
    this.#state = state;
    this.#listeners.emit("connection", { state, ...detail });
  }

  #wireSocket(): void {
    const socket = this.#socket;
    socket.on("connect", () => {
      const reconnect = this.#everConnected;
      this.#everConnected = true;
      this.#handshakeBackoff.reset();
      this.#setState("connected");
      if (reconnect) void this.#resync();
    });
    socket.on("disconnect", (reason) => this.#onDisconnect(reason));
    socket.on("connect_error", (err) => this.#onConnectError(err as Error & { data?: { code?: ErrorCode } }));
    socket.on("connected", (event) => {
      this.#userId = event.user_id;
      this.#listeners.emit("connected", event);
    });
    socket.on("message:new", (message) => this.#deliver(message, "live"));
    socket.on("message:status", (event) => {
      const ledger = this.#ledgers.get(event.conversation_id);
      if (ledger && !ledger.acceptStatus(event)) return;
      this.#listeners.emit("message:status", event);
    });
    socket.on("user_typing", (event) => this.#listeners.emit("user_typing", event));
    socket.on("conversation:updated", (conversation) =>
      this.#listeners.emit("conversation:updated", conversation),
    );
    socket.on("conversation:assigned", (event) => this.#listeners.emit("conversation:assigned", event));
    socket.on("conversation:viewers", (event) => this.#listeners.emit("conversation:viewers", event));
    socket.on("presence:updated", (event) => this.#listeners.emit("presence:updated", event));
    socket.on("left_conversation", (event) => {
      // Our own leave answers without a reason; a server-side removal is final: do not re-join.
      if (event.reason === undefined) return;
      this.#forget(event.conversation_id);
      this.#listeners.emit("conversation:revoked", event);
    });
    socket.on("error", (event) => {
      this.#lastError = { code: event.code, at: Date.now() };
      this.#listeners.emit("error", event);
    });
  }

  #onDisconnect(reason: string): void {
    if (!DELIBERATE_DISCONNECTS.has(reason)) {
      this.#setState("reconnecting", { reason });
      return;
    }
    if (reason === "io client disconnect") {
      this.#setState("disconnected", { reason });
      return;
    }
    // The server closed us on purpose: act on its reason when it gave one.
    const recent =
      this.#lastError && Date.now() - this.#lastError.at < DISCONNECT_EXPLANATION_WINDOW_MS
        ? this.#lastError.code
        : undefined;
    // The account was disabled or the session ended: no retry helps, log in again.
    if (recent === ERROR_CODES.accountDisabled || recent === ERROR_CODES.sessionRevoked) {
      this.#tokens?.stop();
      this.#setState("unauthorized", { reason, code: recent });
      return;
    }
    const expiresAt = this.#tokens?.expiresAt ?? null;
    const tokenExpired =
      recent === ERROR_CODES.tokenExpired || (expiresAt !== null && expiresAt <= Date.now());
    if (tokenExpired && this.#tokens) {
      this.#reconnectWithFreshToken(reason);
      return;
    }
    this.#setState(tokenExpired ? "unauthorized" : "disconnected", {
      reason,
      ...(recent ? { code: recent } : {}),
    });
  }

  #onConnectError(err: Error & { data?: { code?: ErrorCode } }): void {
    // `active` stays true for transport failures (socket.io-client retries); a middleware refusal ends it.
    if (this.#socket.active) {
      this.#setState(this.#everConnected ? "reconnecting" : "connecting", { reason: err.message });
      return;
    }
    const code = err.data?.code;
    if (code === ERROR_CODES.tokenExpired && this.#tokens && !this.#tokens.sessionExpired) {
      this.#reconnectWithFreshToken(err.message);
      return;
    }
    if (isFinalHandshakeRefusal(code)) {
      this.#setState("unauthorized", { reason: err.message, ...(code ? { code } : {}) });
      return;
    }
    // A passing refusal ("retry later": the server could not check the token just now). The stock
    // client does not retry a refusal by itself, so retry here, with backoff.
    this.#retryHandshake(err.message, code);
  }

  #retryHandshake(reason: string, code: ErrorCode | undefined): void {
    this.#setState(this.#everConnected ? "reconnecting" : "connecting", {
      reason,
      ...(code ? { code } : {}),
    });
    this.#cancelHandshakeRetry();
    const retry = setTimeout(() => {
      this.#handshakeRetry = null;
      // disconnect() in the meantime (state "disconnected") ends the retries.
      if (this.#state === "reconnecting" || this.#state === "connecting") this.#socket.connect();
    }, this.#handshakeBackoff.next());
    // Not unref'd: like the stock client's reconnection timer, it keeps a Node bot alive meanwhile.
    this.#handshakeRetry = retry;
  }

  #cancelHandshakeRetry(): void {
    if (this.#handshakeRetry === null) return;
    clearTimeout(this.#handshakeRetry);
    this.#handshakeRetry = null;
  }

  #reconnectWithFreshToken(reason: string): void {
    const tokens = this.#tokens;
    if (!tokens) return;
    this.#setState("reconnecting", { reason, code: ERROR_CODES.tokenExpired });
    tokens.refresh().then(
      () => this.#socket.connect(),
      (error: ApiRequestError) => {
        this.#listeners.emit("error", error);
        if (tokens.sessionExpired) {
          this.#setState("unauthorized", { reason: error.message, code: CLIENT_ERROR_CODES.sessionExpired });
          return;
        }
        // The server could not be reached (restarting, network down): the session is not over, try again.
        const retry = setTimeout(() => {
          if (this.#state === "reconnecting") this.#reconnectWithFreshToken(reason);
        }, this.#retryDelayMs);
        (retry as { unref?: () => void }).unref?.();
      },
    );
  }

  /** A new token: hand it to the live socket; if the server will not take it, reconnect with it. */
  #onTokenRefreshed(token: string): void {
    if (!this.#socket.connected) return;
    this.#ack<AuthRefreshResult>("auth:refresh", (ack) =>
      this.#socket.emit("auth:refresh", { token }, ack),
    ).catch(() => {
      this.#socket.disconnect();
      this.#socket.connect();
    });
  }

  async #join(conversationId: Uuid): Promise<JoinedConversation> {
    if (!this.#socket.connected) {
      throw new SocketRequestError(CLIENT_ERROR_CODES.notConnected, "not connected", "join_conversation");
    }
    const joined = await this.#ack<JoinedConversation>("join_conversation", (ack) =>
      this.#socket.emit("join_conversation", { conversation_id: conversationId }, ack),
    );
    const after = this.#ledgers.get(conversationId)?.observeLastSeq(joined.last_seq) ?? null;
    if (after !== null) void this.#catchUp(conversationId);
    return joined;
  }

  /** After a reconnect: re-join every watched conversation (catching up as needed) and refresh statuses. */
  async #resync(): Promise<void> {
    await Promise.all([...this.#ledgers.keys()].map((conversationId) => this.#rejoin(conversationId)));
  }

  /**
   * Re-joins one watched conversation and re-reads its newest statuses. A final refusal ends the
   * watch; anything else (rate_limited, internal_error, no answer, a failed status read) is retried
   * with backoff, because giving up would silently stop the conversation's messages for good.
   */
  async #rejoin(conversationId: Uuid): Promise<void> {
    this.#cancelRejoinRetry(conversationId);
    try {
      await this.#join(conversationId);
      await this.#resyncStatuses(conversationId);
      this.#rejoinRetries.delete(conversationId);
    } catch (err) {
      this.#listeners.emit("error", err as SocketRequestError | ApiRequestError);
      if (err instanceof SocketRequestError && isFinalJoinRefusal(err.code)) this.#forget(conversationId);
      else this.#retryRejoin(conversationId);
    }
  }

  /** Schedules another `#rejoin` of a still-watched conversation after its backoff delay. */
  #retryRejoin(conversationId: Uuid): void {
    // Offline: the next "connect" re-joins everything anyway.
    if (!this.#socket.connected || !this.#ledgers.has(conversationId)) return;
    let retry = this.#rejoinRetries.get(conversationId);
    if (!retry) {
      retry = { backoff: new Backoff(this.#retryBackoff), timer: null };
      this.#rejoinRetries.set(conversationId, retry);
    }
    if (retry.timer !== null) clearTimeout(retry.timer);
    retry.timer = setTimeout(() => {
      retry.timer = null;
      if (this.#socket.connected && this.#ledgers.has(conversationId)) void this.#rejoin(conversationId);
    }, retry.backoff.next());
  }

  #cancelRejoinRetry(conversationId: Uuid): void {
    const retry = this.#rejoinRetries.get(conversationId);
    if (retry?.timer != null) clearTimeout(retry.timer);
    if (retry) retry.timer = null;
  }

  #cancelRejoinRetries(): void {
    for (const conversationId of this.#rejoinRetries.keys()) this.#cancelRejoinRetry(conversationId);
  }

  /** Stops watching a conversation: no re-join, no catch-up, no pending retry. */
  #forget(conversationId: Uuid): void {
    this.#ledgers.delete(conversationId);
    this.#catchingUp.delete(conversationId);
    this.#cancelRejoinRetry(conversationId);
    this.#rejoinRetries.delete(conversationId);
  }

  /** Statuses that moved while we were away: re-read the newest messages and report what advanced. */
  async #resyncStatuses(conversationId: Uuid): Promise<void> {
    if (this.#statusResyncLimit <= 0) return;
    const page = await this.api.listMessages(conversationId, { limit: this.#statusResyncLimit });
    for (const message of page.data) this.#reportStatusFrom(message);
  }

  /**
   * Fetches every message above the ledger's contiguous seq. One catch-up per conversation at a time;
   * a gap found meanwhile runs another one after it.
   */
  async #catchUp(conversationId: Uuid): Promise<void> {
    if (this.#catchingUp.has(conversationId)) {
      this.#catchingUp.set(conversationId, true);
      return;
    }
    this.#catchingUp.set(conversationId, false);
    let delivered = 0;
    try {
      for (let round = 0; round < 3; round++) {
        const ledger = this.#ledgers.get(conversationId);
        const after = ledger?.contiguousSeq;
        if (!ledger || after === null || after === undefined) break;
        const messages = await this.api.messagesAfter(conversationId, after);
        for (const message of messages) {
          if (this.#deliver(message, "catch-up")) delivered++;
          else this.#reportStatusFrom(message);
        }
        if (!this.#catchingUp.get(conversationId)) break;
        this.#catchingUp.set(conversationId, false);
      }
    } catch (err) {
      this.#listeners.emit("error", err as ApiRequestError);
    } finally {
      this.#catchingUp.delete(conversationId);
    }
    this.#listeners.emit("caught_up", conversationId, delivered);
  }

  /** Offers a message to its conversation's ledger; delivers it when fresh. Answers whether it was. */
  #deliver(message: Message, source: MessageSource): boolean {
    const ledger = this.#ledgers.get(message.conversation_id);
    if (!ledger) {
      // Not watched (e.g. a message to the user's own room): nothing to dedupe against.
      this.#listeners.emit("message:new", message, source);
      return true;
    }
    const { fresh, gapAfter, laterStatus } = ledger.accept(message);
    if (fresh) this.#listeners.emit("message:new", message, source);
    else this.#reportStatusFrom(message);
    // A status heard before the message and newer than the copy just delivered: the server will not
    // send it again, so report it now (the app dropped it then, having no message to apply it to).
    if (laterStatus) {
      this.#listeners.emit("message:status", {
        ...laterStatus,
        conversation_id: message.conversation_id,
        timestamp: laterStatus.timestamp ?? new Date().toISOString(),
      });
    }
    if (gapAfter !== null && source !== "catch-up") void this.#catchUp(message.conversation_id);
    return fresh;
  }

  /** A known message seen again with a later status: report that status once (unknown ones are the catch-up's). */
  #reportStatusFrom(message: Message): void {
    const ledger = this.#ledgers.get(message.conversation_id);
    if (!ledger || ledger.statusOf(message.id) === undefined) return;
    if (!ledger.acceptStatus({ message_id: message.id, status: message.status })) return;
    this.#listeners.emit("message:status", {
      message_id: message.id,
      conversation_id: message.conversation_id,
      status: message.status,
      timestamp:
        message.failed_at ?? message.read_at ?? message.delivered_at ?? message.sent_at ?? message.created_at,
      ...(message.error_code ? { error_code: message.error_code } : {}),
      ...(message.error_message ? { error_message: message.error_message } : {}),
    });
  }

  /** Sends an event with an acknowledgement; resolves with the result, rejects on refusal or timeout. */
  #ack<T>(event: string, send: (ack: Ack<T>) => void): Promise<{ ok: true } & T> {
    return new Promise((resolve, reject) => {
      if (!this.#socket.connected) {
        reject(new SocketRequestError(CLIENT_ERROR_CODES.notConnected, "not connected", event));
        return;
      }
      const timer = setTimeout(
        () => reject(new SocketRequestError(CLIENT_ERROR_CODES.ackTimeout, `no answer to ${event}`, event)),
        this.#ackTimeoutMs,
      );
      send((res: AckResponse<T>) => {
        clearTimeout(timer);
        if (res.ok) resolve(res);
        else reject(new SocketRequestError(res.error.code, res.error.message, event));
      });
    });
  }
}
