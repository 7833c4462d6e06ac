/**
 * The open conversation's WhatsApp customer-service window (`service_window_expires_at`): a status
 * line, and when the window is closed a small form to send a template, the only message the
 * provider delivers then. The state is re-rendered when the window runs out while shown.
 */
import type { Conversation } from "../../shared/api.ts";
import { h, timeOf } from "./dom.ts";

export interface WindowState {
  open: boolean;
  label: string;
}

/** What to show for a window that closes at `expiresAt` (null: the contact never wrote), at `now`. */
export function windowState(expiresAt: string | null, now: number = Date.now()): WindowState {
  const closes = expiresAt ? Date.parse(expiresAt) : Number.NaN;
  if (Number.isFinite(closes) && closes > now) {
    // A time of day alone is ambiguous for a 24-hour window: say how long is left, then when.
    const minutes = Math.floor((closes - now) / 60_000);
    const left =
      minutes >= 60
        ? `${Math.floor(minutes / 60)} h ${minutes % 60} min`
        : minutes > 0
          ? `${minutes} min`
          : "less than 1 min";
    return { open: true, label: `Service window open: ${left} left (closes at ${timeOf(expiresAt)})` };
  }
  return {
    open: false,
    label: expiresAt
      ? "Service window closed: the customer last wrote over 24 h ago. Only a template can be sent."
      : "No service window: the customer has not written yet. Only a template can be sent.",
  };
}

export interface ServiceWindowViewOptions {
  /** Sends a template to the open conversation; reject to show the error. */
  onSendTemplate: (templateName: string, language: string) => Promise<void>;
}

/** setTimeout's longest delay; a window further away is re-checked then. */
const MAX_TIMER_MS = 2_147_483_647;

export class ServiceWindowView {
  readonly element: HTMLElement;
  readonly #status: HTMLParagraphElement;
  readonly #form: HTMLFormElement;
  readonly #error: HTMLParagraphElement;
  #expiresAt: string | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ServiceWindowViewOptions) {
    this.#status = h("p", { class: "window-status", "data-testid": "service-window-status" });
    const name = h("input", {
      type: "text",
      name: "template_name",
      placeholder: "Template name",
      "aria-label": "Template name",
      required: true,
      maxlength: 512,
      "data-testid": "template-name",
    });
    const language = h("input", {
      type: "text",
      name: "language",
      value: "en",
      "aria-label": "Template language",
      maxlength: 16,
      size: 4,
      "data-testid": "template-language",
    });
    const send = h("button", { type: "submit", "data-testid": "template-send" }, "Send template");
    this.#error = h("p", { class: "error", role: "alert", "data-testid": "template-error" });
    this.#form = h("form", { class: "template-form", "aria-label": "Send a template" }, name, language, send);
    this.element = h(
      "div",
      { class: "service-window", "data-testid": "service-window" },
      this.#status,
      this.#form,
      this.#error,
    );
    this.#form.addEventListener("submit", (event) => {
      event.preventDefault();
      const templateName = name.value.trim();
      if (!templateName) return;
      send.disabled = true;
      this.#error.textContent = "";
      options.onSendTemplate(templateName, language.value.trim() || "en").then(
        () => {
          name.value = "";
          send.disabled = false;
        },
        (err: unknown) => {
          send.disabled = false;
          this.#error.textContent = `Not sent: ${err instanceof Error ? err.message : String(err)}`;
        },
      );
    });
  }

  /** Shows the window of `conversation` (hidden when there is none). */
  show(conversation: Conversation | undefined): void {
    this.element.hidden = !conversation;
    this.#expiresAt = conversation?.service_window_expires_at ?? null;
    this.#error.textContent = "";
    this.#render();
  }

  dispose(): void {
    clearTimeout(this.#timer);
  }

  #render(): void {
    clearTimeout(this.#timer);
    const state = windowState(this.#expiresAt);
    this.element.dataset.state = state.open ? "open" : "closed";
    this.#status.textContent = state.label;
    this.#form.hidden = state.open;
    if (state.open && this.#expiresAt)
      this.#timer = setTimeout(
        () => this.#render(),
        Math.min(MAX_TIMER_MS, Date.parse(this.#expiresAt) - Date.now() + 100),
      );
  }
}
