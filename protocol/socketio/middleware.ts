/**
 * Runs a chain of `(arg, next)` middlewares in order; the first `next(err)` stops it. With no
 * middleware the callback runs synchronously, so the common case adds no tick. A middleware that
 * throws, or an async one whose promise rejects, counts as `next(err)` (and is logged): application
 * code never takes the process down, and the client gets its refusal instead of waiting forever.
 */
import type { Logger } from "../logger.ts";
import { runHook } from "../user-hooks.ts";

/** An error a middleware passes to `next`; `data` travels to the client in CONNECT_ERROR. */
export interface MiddlewareError extends Error {
  data?: unknown;
}

export type Next = (err?: MiddlewareError) => void;
/** May be async: a rejection is `next(err)`. */
export type Middleware<T> = (arg: T, next: Next) => void | Promise<void>;

export function runMiddlewares<T>(
  fns: readonly Middleware<T>[],
  arg: T,
  done: (err?: MiddlewareError) => void,
  log: Logger,
): void {
  if (fns.length === 0) {
    done();
    return;
  }
  const step = (i: number): void => {
    const fn = fns[i];
    if (!fn) {
      done();
      return;
    }
    let called = false;
    const next: Next = (err) => {
      if (called) return;
      called = true;
      if (err) done(err);
      else step(i + 1);
    };
    runHook(log, "middleware failed", {}, () => fn(arg, next), next);
  };
  step(0);
}
