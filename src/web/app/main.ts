/**
 * Entry point of the inbox page (bundled to app.js by build.ts): resume the tab's session or show the
 * login form, then run the inbox.
 */

import { ApiClient, createSession } from "../../client/index.ts";
import type { TokenResponse } from "../../shared/api.ts";
import { Inbox } from "./inbox.ts";
import { renderLogin } from "./login-view.ts";
import { clearStoredSession, loadStoredSession, storeSession, updateStoredTokens } from "./session-store.ts";

const root = document.getElementById("app") ?? document.body;

function showLogin(notice?: string): void {
  const api = new ApiClient();
  renderLogin(root, {
    login: (email, password) => api.login(email, password),
    onLoggedIn: (tokens) => {
      storeSession(tokens);
      void startInbox(tokens);
    },
    ...(notice ? { notice } : {}),
  });
}

async function startInbox(tokens: TokenResponse): Promise<void> {
  const session = await createSession({ tokens });
  session.tokens.on("refreshed", () =>
    updateStoredTokens(session.tokens.accessToken, session.tokens.refreshToken),
  );
  const inbox = new Inbox(session, {
    onSignedOut: (notice) => {
      clearStoredSession();
      showLogin(notice);
    },
  });
  // Expose the running inbox for diagnostics from the devtools console (and the browser test).
  (globalThis as { switchboard?: unknown }).switchboard = { inbox, session };
  const wanted = new URLSearchParams(location.hash.slice(1)).get("conversation") ?? undefined;
  try {
    await inbox.start(root, wanted);
  } catch (err) {
    inbox.close(`Could not open the inbox: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const stored = loadStoredSession();
if (stored) void startInbox(stored);
else showLogin();
