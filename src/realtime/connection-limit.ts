/**
 * At most N live sockets per user: when a new one connects beyond that, the OLDEST is told why
 * (`error {code: "connection_limit"}`) and disconnected, so a user who opens a new tab keeps working
 * and the stale tab knows not to reconnect blindly.
 */
import { ERROR_CODES } from "../shared/events.ts";
import { type ChatSocket, errorEvent } from "./types.ts";

export const CONNECTION_LIMIT_MESSAGE =
  "disconnected: this user opened too many connections (the oldest is closed)";

export class ConnectionLimiter {
  readonly #byUser = new Map<string, ChatSocket[]>();

  constructor(private readonly maxPerUser: number) {}

  /** Registers a connected socket; pushes out the oldest sockets beyond the cap. */
  add(socket: ChatSocket): void {
    const userId = socket.data.user_id;
    const list = this.#byUser.get(userId) ?? [];
    list.push(socket);
    this.#byUser.set(userId, list);
    while (list.length > this.maxPerUser) {
      const oldest = list.shift()!;
      oldest.emit("error", errorEvent(ERROR_CODES.connectionLimit, CONNECTION_LIMIT_MESSAGE));
      oldest.disconnect(true);
    }
  }

  remove(socket: ChatSocket): void {
    const userId = socket.data.user_id;
    const list = this.#byUser.get(userId);
    if (!list) return;
    const i = list.indexOf(socket);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#byUser.delete(userId);
  }

  count(userId: string): number {
    return this.#byUser.get(userId)?.length ?? 0;
  }
}
