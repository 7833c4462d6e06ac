/** The typed Socket.IO server and socket of the chat application. */
import type { Server, Socket } from "../../protocol/index.ts";
import type {
  ClientToServerEvents,
  ErrorCode,
  ErrorEvent,
  InterServerEvents,
  ServerToClientEvents,
  SocketData,
} from "../shared/events.ts";

export type ChatServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export const errorEvent = (
  code: ErrorCode,
  message: string,
  extra: Partial<ErrorEvent> = {},
): ErrorEvent => ({
  message,
  code,
  ...extra,
});

/** The client events the server knows (metrics label unknown ones "other" to bound cardinality). */
export const CLIENT_EVENTS: ReadonlySet<string> = new Set<keyof ClientToServerEvents>([
  "join_conversation",
  "leave_conversation",
  "typing_start",
  "typing_stop",
  "ping",
  "auth:refresh",
  "presence:set",
]);
export const eventLabel = (event: string): string => (CLIENT_EVENTS.has(event) ? event : "other");
