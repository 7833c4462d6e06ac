/**
 * Entry point of the web UI (bundled to app.js by build.ts): resume the tab's session or show the
 * login form, then run the inbox, or the admin page (`#admin`, org_admins only).
 */

import { ApiClient, createSession, type Session } from "../../client/index.ts";
import type { TokenResponse } from "../../shared/api.ts";
import { AdminView } from "./admin-view.ts";
import { Inbox } from "./inbox.ts";
import { renderLogin } from "./login-view.ts";
import { clearStoredSession, loadStoredSession, storeSession, updateStoredTokens } from "./session-store.ts";

const root = document.getElementById("app") ?? document.body;

const isAdminRoute = (): boolean => location.hash === "#admin";

// Moving between the inbox and the admin page starts the other screen afresh (the tab's session
// is kept in sessionStorage, so no new login).
const startedOnAdmin = isAdminRoute();
window.addEventListener("hashchange", () => {
  if (isAdminRoute() !== startedOnAdmin) location.reload();
});

function showLogin(notice?: string): void {
  const api = new ApiClient();
  renderLogin(root, {
    login: (email, password) => api.login(email, password),
    onLoggedIn: (tokens) => {
      storeSession(tokens);
      void start(tokens);
    },
    ...(notice ? { notice } : {}),
  });
}

/** Ends the session on the server too (best effort: an expired session has nothing left to end). */
function signOut(session: Session, notice?: string): void {
  session.api.logout(session.tokens.refreshToken).catch(() => {});
  session.tokens.stop();
  clearStoredSession();
  showLogin(notice);
}

async function start(tokens: TokenResponse): Promise<void> {
  const session = await createSession({ tokens });
  // Refresh tokens rotate: every refresh answers a new one, which must replace the stored one.
  session.tokens.on("refreshed", () =>
    updateStoredTokens(session.tokens.accessToken, session.tokens.refreshToken),
  );
  if (isAdminRoute() && session.user.role === "org_admin") {
    const admin = new AdminView(session, { onSignedOut: (notice) => signOut(session, notice) });
    await admin.start(root);
    return;
  }
  const inbox = new Inbox(session, { onSignedOut: (notice) => signOut(session, notice) });
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
if (stored) void start(stored);
else showLogin();
