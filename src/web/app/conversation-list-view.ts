/** The left column: the organization's conversations, most recent activity first. */
import type { Conversation } from "../../shared/api.ts";
import type { Uuid } from "../../shared/events.ts";
import { h, timeOf } from "./dom.ts";

export class ConversationListView {
  readonly element: HTMLUListElement;
  readonly #onSelect: (conversationId: Uuid) => void;
  #conversations: Conversation[] = [];
  #selected: Uuid | null = null;
  readonly #unread = new Map<Uuid, number>();

  constructor(onSelect: (conversationId: Uuid) => void) {
    this.#onSelect = onSelect;
    this.element = h("ul", {
      class: "conversations",
      "aria-label": "Conversations",
      "data-testid": "conversation-list",
    });
  }

  setConversations(conversations: Conversation[]): void {
    this.#conversations = [...conversations];
    this.#render();
  }

  select(conversationId: Uuid | null): void {
    this.#selected = conversationId;
    if (conversationId) this.#unread.delete(conversationId);
    this.#render();
  }

  /** A message arrived: move its conversation to the top, count it unread unless it is open. */
  touch(conversationId: Uuid, at: string, countUnread: boolean): void {
    const conversation = this.#conversations.find((c) => c.id === conversationId);
    if (!conversation) return;
    conversation.last_message_at = at;
    if (countUnread && conversationId !== this.#selected) {
      this.#unread.set(conversationId, (this.#unread.get(conversationId) ?? 0) + 1);
    }
    this.#conversations.sort((a, b) => (b.last_message_at ?? "").localeCompare(a.last_message_at ?? ""));
    this.#render();
  }

  #render(): void {
    if (this.#conversations.length === 0) {
      this.element.replaceChildren(h("li", { class: "empty" }, "No conversations yet."));
      return;
    }
    this.element.replaceChildren(
      ...this.#conversations.map((c) => {
        const unread = this.#unread.get(c.id) ?? 0;
        const button = h(
          "button",
          {
            type: "button",
            "aria-current": c.id === this.#selected ? "true" : "false",
            "data-testid": "conversation-item",
            "data-conversation-id": c.id,
          },
          h("span", { class: "name" }, contactName(c)),
          unread > 0 ? h("span", { class: "badge", "aria-label": `${unread} unread` }, String(unread)) : null,
          h("span", { class: "meta" }, `${c.status} · ${timeOf(c.last_message_at)}`),
        );
        button.addEventListener("click", () => this.#onSelect(c.id));
        return h("li", {}, button);
      }),
    );
  }
}

export function contactName(conversation: Conversation): string {
  return conversation.contact.name || `+${conversation.contact.whatsapp_id}`;
}
