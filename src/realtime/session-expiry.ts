/**
 * A live socket lives no longer than its access token: when `exp` passes, the client gets
 * `error {code: "token_expired"}` and is disconnected (it should refresh over REST and reconnect).
 * `auth:refresh` with a new token moves the deadline without reconnecting.
 */
import { ERROR_CODES } from "../shared/events.ts";
import { type ChatSocket, errorEvent } from "./types.ts";

export const TOKEN_EXPIRED_MESSAGE =
  "access token expired: refresh it and reconnect (or send auth:refresh in time)";
/** setTimeout's ceiling; longer waits are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class SessionExpiry {
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();

  /** (Re)arms the deadline of `socket` at its `socket.data.token_exp`. */
  arm(socket: ChatSocket): void {
    this.clear(socket);
    const wait = socket.data.token_exp * 1000 - Date.now();
    if (wait <= 0) {
      this.#expire(socket);
      return;
    }
    const timer = setTimeout(
      () => {
        this.#timers.delete(socket.id);
        if (wait > MAX_TIMER_MS) this.arm(socket);
        else this.#expire(socket);
      },
      Math.min(wait, MAX_TIMER_MS),
    );
    this.#timers.set(socket.id, timer);
  }

  clear(socket: ChatSocket): void {
    const timer = this.#timers.get(socket.id);
    if (timer) clearTimeout(timer);
    this.#timers.delete(socket.id);
  }

  clearAll(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  #expire(socket: ChatSocket): void {
    if (!socket.connected) return;
    socket.emit("error", errorEvent(ERROR_CODES.tokenExpired, TOKEN_EXPIRED_MESSAGE));
    socket.disconnect(true);
  }
}
