/** Ack bookkeeping shared by sockets: pending acks of sent packets, and one-shot answers. */
import { createLogger } from "../logger.ts";
import { runHook } from "../user-hooks.ts";
import { ErrorMessages } from "./reasons.ts";

const log = createLogger("socketio");

export type AckCallback = (...args: unknown[]) => void;

/**
 * Register the ack of packet `id`. With a timeout the callback gets `(null, ...answer)`, or
 * `(Error("operation has timed out"))` if no answer came in time (and the late answer is ignored).
 */
export function registerAck(
  acks: Map<number, AckCallback>,
  id: number,
  ack: AckCallback,
  timeout: number | undefined,
): void {
  if (timeout === undefined) {
    acks.set(id, ack);
    return;
  }
  const timer = setTimeout(() => {
    acks.delete(id);
    // In a timer: a throw here would be an uncaught exception.
    runHook(log, "ack callback failed", { id }, () => ack(new Error(ErrorMessages.ACK_TIMEOUT)));
  }, timeout);
  acks.set(id, (...args) => {
    clearTimeout(timer);
    ack(null, ...args);
  });
}

/** A function that runs `send` with its arguments the first time it is called, never again. */
export function once(send: (args: unknown[]) => void): AckCallback {
  let sent = false;
  return (...args: unknown[]) => {
    if (sent) return;
    sent = true;
    send(args);
  };
}
