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

  /** The entry of `conversationId`, if the list has it. */
  find(conversationId: Uuid): Conversation | undefined {
    return this.#conversations.find((c) => c.id === conversationId);
  }

  /**
   * A conversation's entry changed (`conversation:updated`, or a reload after a reconnect): replace
   * it, or add it when it is new, and count the messages it gained as unread unless it is open. An
   * entry that is not newer (its `last_seq` is not above the one shown) changes nothing.
   */
  update(conversation: Conversation): void {
    const index = this.#conversations.findIndex((c) => c.id === conversation.id);
    const known = index === -1 ? undefined : this.#conversations[index];
    if (known && known.last_seq >= conversation.last_seq) return;
    const gained = conversation.last_seq - (known?.last_seq ?? 0);
    if (known) this.#conversations[index] = conversation;
    else this.#conversations.push(conversation);
    if (gained > 0 && conversation.id !== this.#selected)
      this.#unread.set(conversation.id, (this.#unread.get(conversation.id) ?? 0) + gained);
    this.#sort();
    this.#render();
  }

  /** A message of the open conversation arrived: move it to the top (its entry update follows). */
  touch(conversationId: Uuid, at: string): void {
    const conversation = this.find(conversationId);
    if (!conversation) return;
    if ((conversation.last_message_at ?? "") < at) conversation.last_message_at = at;
    this.#sort();
    this.#render();
  }

  #sort(): void {
    this.#conversations.sort((a, b) => (b.last_message_at ?? "").localeCompare(a.last_message_at ?? ""));
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
