/**
 * Keeps the login of this tab across reloads (sessionStorage: per tab, gone when it closes, never
 * shared with other tabs or browser contexts).
 */
import type { TokenResponse } from "../../shared/api.ts";

const KEY = "switchboard.session";

export function loadStoredSession(): TokenResponse | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as TokenResponse) : null;
  } catch {
    return null;
  }
}

export function storeSession(tokens: TokenResponse): void {
  sessionStorage.setItem(KEY, JSON.stringify(tokens));
}

/** Keeps the stored access/refresh tokens in step after a refresh. */
export function updateStoredTokens(accessToken: string, refreshToken: string): void {
  const stored = loadStoredSession();
  if (stored) storeSession({ ...stored, access_token: accessToken, refresh_token: refreshToken });
}

export function clearStoredSession(): void {
  sessionStorage.removeItem(KEY);
}
