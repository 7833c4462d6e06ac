/**
 * The right column: one conversation's messages in `seq` order, their status ticks, the typing
 * indicator and the send box. Each message is one element keyed by id, so a message delivered twice
 * is still shown once.
 */
import type { Conversation } from "../../shared/api.ts";
import type { Message, MessageStatus, PresenceStatus, UserRole, Uuid } from "../../shared/events.ts";
import { dayLabel, dayOf, h, timeOf } from "./dom.ts";
import { TICKS } from "./ticks.ts";

export type ThreadAction = "claim" | "assign" | "resolve" | "reopen";

/** An assignable teammate with their availability (the assign picker). */
export interface Teammate {
  user_id: Uuid;
  name: string;
  status: PresenceStatus;
}

export interface ThreadViewOptions {
  /** Called on every keystroke in the send box. */
  onInput: () => void;
  /** Called with the text to send; resolve when sent, reject to keep the text and show the error. */
  onSend: (text: string) => Promise<void>;
  /** A lifecycle button was used (`assign` with the chosen agent, or null for the queue). */
  onAction: (action: ThreadAction, agentId?: Uuid | null) => Promise<void>;
  /** The display name of a user id (sending agents, the assignee). */
  nameOf: (userId: Uuid) => string;
  /** Called when the retry button of a failed message is pressed; reject to show why it did not work. */
  onRetry: (messageId: string) => Promise<void>;
  /** Reads a stored media file (`/api/v1/media/:id`) with the user's token. */
  loadMedia: (url: string) => Promise<Blob>;
}

/** A stored media file still being fetched by the server is asked for again this often, this many times. */
const MEDIA_RETRY_MS = 2000;
const MEDIA_TRIES = 10;

/** Why a message failed, as the server reported it. */
interface FailureDetail {
  error_code?: string | null | undefined;
  error_message?: string | null | undefined;
}

const PRESENCE_DOT: Record<PresenceStatus, string> = { online: "🟢", away: "🟡", offline: "⚪" };

export class ThreadView {
  readonly element: HTMLElement;
  readonly #title: HTMLHeadingElement;
  readonly #list: HTMLOListElement;
  readonly #typing: HTMLDivElement;
  readonly #input: HTMLInputElement;
  readonly #send: HTMLButtonElement;
  readonly #error: HTMLParagraphElement;
  readonly #byId = new Map<string, { element: HTMLLIElement; seq: number }>();
  readonly #options: ThreadViewOptions;
  readonly #state: HTMLSpanElement;
  readonly #actions: HTMLDivElement;
  readonly #viewers: HTMLDivElement;

  readonly #onRetry: (messageId: string) => Promise<void>;
  readonly #loadMedia: (url: string) => Promise<Blob>;

  constructor(options: ThreadViewOptions) {
    this.#options = options;
    this.#onRetry = options.onRetry;
    this.#loadMedia = options.loadMedia;
    this.#title = h("h2", { "data-testid": "thread-title" });
    this.#state = h("span", { class: "state", "data-testid": "thread-state" });
    this.#actions = h("div", { class: "actions", "data-testid": "thread-actions" });
    this.#viewers = h("div", { class: "viewers", "data-testid": "thread-viewers" });
    this.#list = h("ol", {
      class: "messages",
      "aria-label": "Messages",
      "aria-live": "polite",
      "data-testid": "messages",
    });
    this.#typing = h("div", { class: "typing", "aria-live": "polite", "data-testid": "typing-indicator" });
    this.#input = h("input", {
      type: "text",
      name: "message",
      placeholder: "Type a message",
      "aria-label": "Message",
      autocomplete: "off",
      "data-testid": "composer-input",
    });
    this.#send = h("button", { type: "submit", class: "send", "data-testid": "composer-send" }, "Send");
    this.#error = h("p", { class: "error", role: "alert", "data-testid": "composer-error" });
    const form = h("form", { class: "composer", "aria-label": "Send a message" }, this.#input, this.#send);
    this.element = h(
      "section",
      { class: "thread", "aria-label": "Conversation", "data-testid": "thread" },
      h(
        "header",
        {},
        h("div", { class: "title-row" }, this.#title, this.#state),
        this.#actions,
        this.#viewers,
      ),
      this.#list,
      this.#typing,
      this.#error,
      form,
    );

    this.#input.addEventListener("input", () => {
      if (this.#input.value !== "") options.onInput();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.#input.value.trim();
      if (!text) return;
      this.#send.disabled = true;
      this.#error.textContent = "";
      options.onSend(text).then(
        () => {
          this.#input.value = "";
          this.#send.disabled = false;
          this.#input.focus();
        },
        (err: unknown) => {
          this.#send.disabled = false;
          this.#error.textContent = `Not sent: ${err instanceof Error ? err.message : String(err)}`;
        },
      );
    });
  }

  /** Enables the send box only while a conversation is open. */
  setEnabled(enabled: boolean): void {
    this.#input.disabled = !enabled;
    this.#send.disabled = !enabled;
  }

  /**
   * Shows the conversation's state and the lifecycle buttons this user may use: claim (queued),
   * assign (org_admin: any; agent: their own), resolve, reopen. Viewers get none.
   */
  setConversation(
    conversation: Conversation,
    me: { id: Uuid; role: UserRole },
    teammates: readonly Teammate[],
  ): void {
    const assignee = conversation.assigned_agent_id;
    this.#state.textContent = `${conversation.status}${assignee ? ` · ${this.#options.nameOf(assignee)}` : ""}`;
    this.#state.dataset.status = conversation.status;
    this.element.dataset.status = conversation.status;
    this.element.dataset.assignee = assignee ?? "";
    const buttons: Node[] = [];
    const button = (action: ThreadAction, label: string) => {
      const b = h("button", { type: "button", "data-testid": `action-${action}` }, label);
      b.addEventListener("click", () => this.#act(action));
      return b;
    };
    if (me.role !== "viewer") {
      if (conversation.status === "queued") buttons.push(button("claim", "Claim"));
      if (conversation.status !== "resolved" && (me.role === "org_admin" || assignee === me.id)) {
        const picker = h(
          "select",
          { "aria-label": "Assign to", "data-testid": "assign-picker" },
          h("option", { value: "" }, "Assign to…"),
          h("option", { value: "queue" }, "↩ Back to the queue"),
          ...teammates
            .filter((t) => t.user_id !== assignee)
            .map((t) =>
              h(
                "option",
                { value: t.user_id, "data-status": t.status },
                `${PRESENCE_DOT[t.status]} ${t.name}`,
              ),
            ),
        );
        picker.addEventListener("change", () => {
          const value = picker.value;
          if (!value) return;
          void this.#act("assign", value === "queue" ? null : value);
        });
        buttons.push(picker);
      }
      if (conversation.status !== "resolved") buttons.push(button("resolve", "Resolve"));
      else buttons.push(button("reopen", "Reopen"));
    }
    this.#actions.replaceChildren(...buttons);
  }

  async #act(action: ThreadAction, agentId?: Uuid | null): Promise<void> {
    this.#error.textContent = "";
    try {
      await this.#options.onAction(action, agentId);
    } catch (err) {
      this.#error.textContent = err instanceof Error ? err.message : String(err);
    }
  }

  /** Who else is watching (has joined) this conversation. */
  setViewers(names: readonly string[]): void {
    this.#viewers.textContent = names.length > 0 ? `Viewing: ${names.join(", ")}` : "";
  }

  /** The conversation was taken away from this user: nothing more can be done in it here. */
  revoke(notice: string): void {
    this.setEnabled(false);
    this.#actions.replaceChildren();
    this.#error.textContent = notice;
    this.element.dataset.revoked = "true";
  }

  /** Starts showing a conversation (clears the previous one). */
  open(title: string, history: readonly Message[]): void {
    this.#title.textContent = title;
    this.#state.textContent = "";
    this.#actions.replaceChildren();
    this.#viewers.textContent = "";
    delete this.element.dataset.revoked;
    this.#byId.clear();
    this.#list.replaceChildren();
    this.#typing.textContent = "";
    this.#error.textContent = "";
    for (const message of history) this.addMessage(message);
  }

  /** Adds a message in seq order; a message already shown is left alone (answers false). */
  addMessage(message: Message): boolean {
    if (this.#byId.has(message.id)) return false;
    const element = renderMessage(message, this.#options.nameOf);
    if (message.content.media_id && message.content.url) this.#attachMedia(element, message);
    if (message.direction === "outbound" && message.status === "failed")
      this.#showFailure(element, message.id, message);
    // Messages mostly arrive in order: walk back from the end to find the place.
    let before: Element | null = null;
    for (let node = this.#list.lastElementChild; node; node = node.previousElementSibling) {
      if (Number((node as HTMLElement).dataset.seq) > message.seq) before = node;
      else break;
    }
    this.#list.insertBefore(element, before);
    this.#byId.set(message.id, { element, seq: message.seq });
    this.#refreshDays();
    if (!before) this.#list.scrollTop = this.#list.scrollHeight;
    return true;
  }

  /** One separator before the first message of each day. */
  #refreshDays(): void {
    for (const old of this.#list.querySelectorAll(":scope > li.day")) old.remove();
    let previous = "";
    for (const node of [...this.#list.children] as HTMLElement[]) {
      const at = node.querySelector("time")?.getAttribute("datetime");
      if (!at) continue;
      const day = dayOf(at);
      if (day !== previous)
        node.before(
          h("li", { class: "day", "data-testid": "day-separator", role: "separator" }, dayLabel(at)),
        );
      previous = day;
    }
  }

  setStatus(messageId: string, status: MessageStatus, detail: FailureDetail = {}): void {
    const entry = this.#byId.get(messageId);
    if (!entry) return;
    entry.element.dataset.status = status;
    entry.element.querySelector("[data-testid=message-status]")?.replaceWith(renderTick(status));
    entry.element.querySelector("[data-testid=message-failure]")?.remove();
    if (status === "failed" && entry.element.dataset.direction === "outbound")
      this.#showFailure(entry.element, messageId, detail);
  }

  /**
   * Stored media: images inline (read with the token into an object URL), other files as a download
   * button. A file the server is still fetching (409) is asked for again a few times.
   */
  #attachMedia(element: HTMLLIElement, message: Message): void {
    const url = message.content.url!;
    const name = message.content.filename ?? message.content.caption ?? `${message.message_type} file`;
    if (message.message_type === "image") {
      const img = h("img", {
        class: "media",
        alt: message.content.caption ?? "image",
        "data-testid": "message-image",
      });
      element.querySelector(".text")?.before(img);
      const load = (tries: number) => {
        this.#loadMedia(url).then(
          (blob) => {
            img.src = URL.createObjectURL(blob);
          },
          (err: unknown) => {
            if (tries > 1 && (err as { status?: number }).status === 409)
              setTimeout(() => load(tries - 1), MEDIA_RETRY_MS);
            else img.alt = "image not available";
          },
        );
      };
      load(MEDIA_TRIES);
      return;
    }
    const button = h(
      "button",
      { type: "button", class: "download", "data-testid": "message-download" },
      `Download ${name}`,
    );
    button.addEventListener("click", () => {
      button.disabled = true;
      this.#loadMedia(url).then(
        (blob) => {
          const link = h("a", { href: URL.createObjectURL(blob), download: name });
          link.click();
          button.disabled = false;
        },
        () => {
          button.disabled = false;
          button.textContent = `${name}: not available yet, try again`;
        },
      );
    });
    element.querySelector(".text")?.after(button);
  }

  /** The provider's reason under a failed message, and a button that sends it again. */
  #showFailure(element: HTMLLIElement, messageId: string, detail: FailureDetail): void {
    const reason = detail.error_message ?? "the message could not be delivered";
    const code = detail.error_code ? ` (${detail.error_code})` : "";
    const retry = h("button", { type: "button", class: "retry", "data-testid": "message-retry" }, "Retry");
    const note = h("span", { "data-testid": "message-failure-reason" }, `Not delivered: ${reason}${code}`);
    retry.addEventListener("click", () => {
      retry.disabled = true;
      this.#onRetry(messageId).then(
        // Shown as pending only if no status came since the click: the socket's news (the retry's
        // pending, or already its outcome) may arrive before this answer, and is newer.
        () => {
          if (retry.isConnected) this.setStatus(messageId, "pending");
        },
        (err: unknown) => {
          retry.disabled = false;
          note.textContent = `Retry failed: ${err instanceof Error ? err.message : String(err)}`;
        },
      );
    });
    element.append(
      h("div", { class: "failure", role: "alert", "data-testid": "message-failure" }, note, retry),
    );
  }

  setTyping(label: string): void {
    this.#typing.textContent = label;
  }
}

function renderMessage(message: Message, nameOf: (id: Uuid) => string): HTMLLIElement {
  const outbound = message.direction === "outbound";
  const system = message.sender_type === "system";
  const attrs = {
    class: system ? "message system" : "message",
    "data-testid": system ? "system-line" : "message",
    "data-message-id": message.id,
    "data-seq": message.seq,
    "data-direction": message.direction,
    "data-sender-type": message.sender_type,
    "data-status": message.status,
  };
  const time = h("time", { datetime: message.created_at }, timeOf(message.created_at));
  if (system)
    return h(
      "li",
      attrs,
      h("span", { class: "text", "data-testid": "message-text" }, messageText(message)),
      time,
    );
  return h(
    "li",
    attrs,
    outbound && message.sender_id
      ? h("div", { class: "sender", "data-testid": "message-sender" }, nameOf(message.sender_id))
      : null,
    h("div", { class: "text", "data-testid": "message-text" }, messageText(message)),
    h("footer", {}, time, outbound ? renderTick(message.status) : null),
  );
}

function renderTick(status: MessageStatus): HTMLSpanElement {
  const tick = TICKS[status];
  return h(
    "span",
    {
      class: "tick",
      "data-testid": "message-status",
      "data-status": status,
      title: tick.label,
      "aria-label": tick.label,
    },
    tick.glyph,
  );
}

/** What to show for a message of any type. */
export function messageText(message: Message): string {
  const { content } = message;
  switch (message.message_type) {
    case "text":
      return content.text ?? "";
    case "template":
      return `[template ${content.template_name ?? ""}] ${(content.parameters ?? []).join(", ")}`.trim();
    default:
      return [`[${message.message_type}]`, content.caption ?? content.filename ?? content.url ?? ""]
        .join(" ")
        .trim();
  }
}
