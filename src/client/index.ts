/**
 * The Switchboard client module: import from here in browser or Node code.
 *
 *   const api = new ApiClient({ baseUrl });
 *   const tokens = new TokenManager({ refresher: api, tokens: await api.login(email, password) });
 *   api.setAccessToken(() => tokens.freshToken());
 *   const client = new SocketClient({ url: baseUrl, auth: tokens, api });
 *   await client.connect();
 *   await client.joinConversation(conversationId);
 *   client.onNewMessage((message) => render(message));
 */
export {
  type AccessTokenProvider,
  ApiClient,
  type ApiClientOptions,
  newIdempotencyKey,
  type SendOptions,
} from "./api-client.ts";
export {
  type AcceptResult,
  ConversationLedger,
  isStatusAdvance,
  type StatusOffer,
} from "./conversation-ledger.ts";
export { ApiRequestError, CLIENT_ERROR_CODES, type ClientErrorCode, SocketRequestError } from "./errors.ts";
export { tokenExpiry } from "./jwt.ts";
export { createSession, type Session, type SessionOptions } from "./session.ts";
export {
  type ConnectionChange,
  type ConnectionState,
  type MessageSource,
  SocketClient,
  type SocketClientEvents,
  type SocketClientOptions,
  type TypedSocket,
} from "./socket-client.ts";
export { TokenManager, type TokenManagerOptions, type TokenPair } from "./token-manager.ts";
export { TypingNotifier, type TypingNotifierOptions } from "./typing-notifier.ts";
export { TypingTracker, type TypingTrackerOptions, typingLabel } from "./typing-tracker.ts";
