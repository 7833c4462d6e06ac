/** The login form: email and password in, a `TokenResponse` out (via the caller's `login`). */

import { ApiRequestError } from "../../client/index.ts";
import type { TokenResponse } from "../../shared/api.ts";
import { h } from "./dom.ts";

export interface LoginViewOptions {
  login: (email: string, password: string) => Promise<TokenResponse>;
  onLoggedIn: (tokens: TokenResponse) => void;
  /** Shown above the form (e.g. "Your session has expired"). */
  notice?: string;
}

export function renderLogin(root: HTMLElement, options: LoginViewOptions): void {
  const email = h("input", {
    id: "login-email",
    type: "email",
    name: "email",
    autocomplete: "username",
    required: true,
    "data-testid": "login-email",
  });
  const password = h("input", {
    id: "login-password",
    type: "password",
    name: "password",
    autocomplete: "current-password",
    required: true,
    "data-testid": "login-password",
  });
  const error = h("p", { class: "error", role: "alert", "data-testid": "login-error" }, options.notice ?? "");
  const submit = h("button", { type: "submit", "data-testid": "login-submit" }, "Log in");
  const form = h(
    "form",
    { class: "login", "aria-label": "Log in", "data-testid": "login-form" },
    h("h1", {}, "Switchboard"),
    h("label", { for: "login-email" }, "Email", email),
    h("label", { for: "login-password" }, "Password", password),
    error,
    submit,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.textContent = "";
    options.login(email.value.trim(), password.value).then(
      (tokens) => options.onLoggedIn(tokens),
      (err: unknown) => {
        submit.disabled = false;
        error.textContent =
          err instanceof ApiRequestError && err.status === 401
            ? "Wrong email or password."
            : err instanceof ApiRequestError && err.code === "account_disabled"
              ? "This account is disabled. Ask an administrator of your organization."
              : `Could not log in: ${err instanceof Error ? err.message : String(err)}`;
      },
    );
  });
  root.replaceChildren(form);
  email.focus();
}
