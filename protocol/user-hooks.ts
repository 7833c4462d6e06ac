/**
 * Application code the protocol layers call (middlewares, event and ack handlers, `connection`
 * listeners, dynamic-namespace functions, adapter hooks) must never take the process down: a
 * synchronous throw or a rejected promise is caught here and logged with what was being run. The
 * caller decides what the failure means for the client (a CONNECT_ERROR, a refused namespace, ...).
 */
import type { LogFields, Logger } from "./logger.ts";

/** What to do with a hook's failure: log it, then tell the caller. */
export type HookFailure = (err: Error) => void;

export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"
  );
}

/**
 * Watch what a hook returned: a rejected promise is logged as `what` and passed to `onFailure`.
 * Anything else is ignored. Costs one `typeof` when the hook returned nothing.
 */
export function watchResult(
  log: Logger,
  what: string,
  fields: LogFields,
  result: unknown,
  onFailure?: HookFailure,
): void {
  if (result === undefined || !isThenable(result)) return;
  result.then(undefined, (reason: unknown) => {
    const err = asError(reason);
    log.error(what, { ...fields, error: err });
    onFailure?.(err);
  });
}

/**
 * Run a hook: a synchronous throw or a rejected promise is logged as `what` and passed to
 * `onFailure`; returns true when the hook returned without throwing.
 */
export function runHook(
  log: Logger,
  what: string,
  fields: LogFields,
  hook: () => unknown,
  onFailure?: HookFailure,
): boolean {
  let result: unknown;
  try {
    result = hook();
  } catch (thrown) {
    const err = asError(thrown);
    log.error(what, { ...fields, error: err });
    onFailure?.(err);
    return false;
  }
  watchResult(log, what, fields, result, onFailure);
  return true;
}
