/**
 * The admin page (org_admins, at `#admin`): the organization's users, creating one (a generated
 * password is shown once), changing a role, deactivating/activating, resetting a password. Every
 * rule is the server's; refusals (last admin, duplicate email, weak password) are shown as it words them.
 */

import { ApiRequestError, type Session } from "../../client/index.ts";
import type { ManagedUser } from "../../shared/api.ts";
import { USER_ROLES, type UserRole } from "../../shared/events.ts";
import { h } from "./dom.ts";

export interface AdminViewOptions {
  /** Log out (the page ends the session on the server first). */
  onSignedOut: (notice?: string) => void;
}

const describeError = (err: unknown): string =>
  err instanceof ApiRequestError ? err.message : `Something went wrong: ${String(err)}`;

export class AdminView {
  readonly #session: Session;
  readonly #options: AdminViewOptions;
  readonly #rows = h("tbody", { "data-testid": "user-rows" });
  readonly #notice = h("div", { class: "admin-notice", role: "status", "data-testid": "admin-notice" });
  readonly #error = h("p", { class: "error", role: "alert", "data-testid": "admin-error" });

  constructor(session: Session, options: AdminViewOptions) {
    this.#session = session;
    this.#options = options;
  }

  async start(root: HTMLElement): Promise<void> {
    const { user } = this.#session;
    const logout = h("button", { type: "button", "data-testid": "logout" }, "Log out");
    logout.addEventListener("click", () => this.#options.onSignedOut("You are logged out."));
    root.replaceChildren(
      h(
        "header",
        { class: "topbar" },
        h("span", { class: "brand" }, "Switchboard · Users"),
        h("a", { href: "#", "data-testid": "inbox-link" }, "Back to the inbox"),
        h("span", { class: "spacer" }),
        h("span", { "data-testid": "current-user", "data-user-id": user.id }, `${user.name} (${user.role})`),
        logout,
      ),
      h(
        "main",
        { class: "admin", "data-testid": "admin-page" },
        this.#createForm(),
        this.#error,
        this.#notice,
        h(
          "div",
          { class: "admin-table" },
          h(
            "table",
            {},
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                h("th", {}, "Name"),
                h("th", {}, "Email"),
                h("th", {}, "Role"),
                h("th", {}, "Status"),
                h("th", {}, ""),
              ),
            ),
            this.#rows,
          ),
        ),
      ),
    );
    await this.#reload();
  }

  #createForm(): HTMLFormElement {
    const email = h("input", {
      type: "email",
      name: "email",
      required: true,
      "data-testid": "new-user-email",
    });
    const name = h("input", {
      type: "text",
      name: "name",
      required: true,
      maxlength: 100,
      "data-testid": "new-user-name",
    });
    const role = roleSelect("agent", "new-user-role");
    const password = h("input", {
      type: "password",
      name: "password",
      autocomplete: "new-password",
      placeholder: "leave empty to generate one",
      "data-testid": "new-user-password",
    });
    const submit = h("button", { type: "submit", "data-testid": "new-user-submit" }, "Create user");
    const form = h(
      "form",
      { class: "admin-create", "aria-label": "Create a user", "data-testid": "new-user-form" },
      h("label", {}, "Email", email),
      h("label", {}, "Name", name),
      h("label", {}, "Role", role),
      h("label", {}, "Password", password),
      submit,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.#act(async () => {
        const created = await this.#session.api.createUser({
          email: email.value.trim(),
          name: name.value.trim(),
          role: role.value as UserRole,
          ...(password.value ? { password: password.value } : {}),
        });
        form.reset();
        this.#showPassword(`Created ${created.user.email}.`, created.password);
      });
    });
    return form;
  }

  /** Runs an action: clears the old messages, shows a refusal, reloads the list either way. */
  async #act(action: () => Promise<void>): Promise<void> {
    this.#error.textContent = "";
    this.#notice.replaceChildren();
    try {
      await action();
    } catch (err) {
      this.#error.textContent = describeError(err);
    }
    await this.#reload();
  }

  /** Says what was done; a generated password is shown here once and nowhere else. */
  #showPassword(done: string, password: string | undefined): void {
    this.#notice.replaceChildren(
      done,
      ...(password
        ? [
            " Password (shown once, give it to the user): ",
            h("code", { "data-testid": "generated-password" }, password),
          ]
        : []),
    );
  }

  async #reload(): Promise<void> {
    try {
      const users = await this.#session.api.listUsers();
      this.#rows.replaceChildren(...users.map((u) => this.#row(u)));
    } catch (err) {
      this.#error.textContent = describeError(err);
    }
  }

  #row(user: ManagedUser): HTMLTableRowElement {
    const role = roleSelect(user.role, "user-role");
    role.addEventListener(
      "change",
      () =>
        void this.#act(async () => {
          await this.#session.api.updateUser(user.id, { role: role.value as UserRole });
          this.#notice.textContent = `${user.email} is now ${role.value}.`;
        }),
    );
    const toggle = h(
      "button",
      { type: "button", "data-testid": user.active ? "deactivate-user" : "activate-user" },
      user.active ? "Deactivate" : "Activate",
    );
    toggle.addEventListener(
      "click",
      () =>
        void this.#act(async () => {
          await this.#session.api.updateUser(user.id, { active: !user.active });
          this.#notice.textContent = `${user.email} is ${user.active ? "deactivated" : "active again"}.`;
        }),
    );
    const reset = h("button", { type: "button", "data-testid": "reset-password" }, "Reset password");
    reset.addEventListener(
      "click",
      () =>
        void this.#act(async () => {
          const result = await this.#session.api.resetPassword(user.id);
          this.#showPassword(`New password for ${user.email}; their sessions are ended.`, result.password);
        }),
    );
    return h(
      "tr",
      {
        "data-testid": "user-row",
        "data-email": user.email,
        "data-active": String(user.active),
        class: user.active ? "" : "inactive",
      },
      h("td", {}, user.name),
      h("td", {}, user.email),
      h("td", {}, role),
      h("td", { "data-testid": "user-status" }, user.active ? "active" : "deactivated"),
      h("td", { class: "actions" }, toggle, reset),
    );
  }
}

function roleSelect(selected: UserRole, testId: string): HTMLSelectElement {
  const select = h("select", { "data-testid": testId, "aria-label": "Role" });
  for (const role of USER_ROLES)
    select.append(h("option", { value: role, selected: role === selected }, role));
  return select;
}
