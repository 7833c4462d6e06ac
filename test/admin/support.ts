/** Helpers of the administration suites: JSON calls and logins that do not trip the login rate limit. */
import type { ApiError, TokenResponse } from "../../src/shared/api.ts";
import type { Harness } from "../chat/harness.ts";

export const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;
export const errorOf = async (res: Response): Promise<ApiError["error"]> => (await json<ApiError>(res)).error;

export interface Calls {
  post(path: string, body: unknown, token?: string): Promise<Response>;
  patch(path: string, body: unknown, token?: string): Promise<Response>;
  /** Logs in from a fresh client address (the harness runs with TRUST_PROXY, the limit is per address). */
  login(email: string, password: string): Promise<Response>;
  /** `login` that must succeed. */
  session(email: string, password: string): Promise<TokenResponse>;
}

/**
 * Bound of one request. Generous: password hashing and PGlite (one thread) queue up on a loaded
 * 2-core machine, and the bound only turns a hang into a failure.
 */
export const REQUEST_TIMEOUT_MS = 15_000;

export function calls(h: Pick<Harness, "url">): Calls {
  const request = (method: string, path: string, body: unknown, headers: Record<string, string>) =>
    fetch(`${h.url}${path}`, {
      method,
      body: JSON.stringify(body),
      headers: { "content-type": "application/json", ...headers },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  const send = (method: string) => (path: string, body: unknown, token?: string) =>
    request(method, path, body, token ? { authorization: `Bearer ${token}` } : {});
  const post = send("POST");
  const login = (email: string, password: string) =>
    request(
      "POST",
      "/api/v1/auth/login",
      { email, password },
      {
        "x-forwarded-for": `10.${rand()}.${rand()}.${rand()}`,
      },
    );
  return {
    post,
    patch: send("PATCH"),
    login,
    async session(email, password) {
      const res = await login(email, password);
      if (res.status !== 200)
        throw new Error(`login of ${email} answered ${res.status}: ${await res.text()}`);
      return json<TokenResponse>(res);
    },
  };
}

const rand = () => Math.floor(Math.random() * 250) + 1;
