/**
 * Runs a chain of `(arg, next)` middlewares in order; the first `next(err)` stops it. With no
 * middleware the callback runs synchronously, so the common case adds no tick. A middleware that
 * throws counts as `next(err)`.
 */

/** An error a middleware passes to `next`; `data` travels to the client in CONNECT_ERROR. */
export interface MiddlewareError extends Error {
  data?: unknown;
}

export type Next = (err?: MiddlewareError) => void;
export type Middleware<T> = (arg: T, next: Next) => void;

export function runMiddlewares<T>(
  fns: readonly Middleware<T>[],
  arg: T,
  done: (err?: MiddlewareError) => void,
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
    try {
      fn(arg, next);
    } catch (err) {
      next(err instanceof Error ? err : new Error(String(err)));
    }
  };
  step(0);
}
