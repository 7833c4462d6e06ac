/**
 * The left column: tabs Mine / Queue / All (All for org_admins and viewers) with counts of what is
 * left to handle, and the tab's conversations, most recent activity first.
 */
import type { Conversation } from "../../shared/api.ts";
import type { UserRole, Uuid } from "../../shared/events.ts";
import { dateTimeOf, h } from "./dom.ts";

const TAB_LABELS: Record<InboxTab, string> = { mine: "Mine", queue: "Queue", all: "All" };

export type InboxTab = "mine" | "queue" | "all";

export class ConversationListView {
  readonly element: HTMLElement;
  readonly #list: HTMLUListElement;
  readonly #tabs: HTMLDivElement;
  readonly #onSelect: (conversationId: Uuid) => void;
  readonly #me: Uuid;
  readonly #role: UserRole;
  #tab: InboxTab;
  #conversations: Conversation[] = [];
  #selected: Uuid | null = null;
  readonly #unread = new Map<Uuid, number>();
  /** Called after every change of the unread counts (the page title shows those of Mine). */
  onUnreadChange: () => void = () => {};

  constructor(onSelect: (conversationId: Uuid) => void, me: { id: Uuid; role: UserRole }) {
    this.#onSelect = onSelect;
    this.#me = me.id;
    this.#role = me.role;
    this.#tab = me.role === "agent" ? "mine" : "all";
    this.#tabs = h("div", { class: "tabs", role: "tablist", "data-testid": "inbox-tabs" });
    this.#list = h("ul", {
      class: "conversations",
      "aria-label": "Conversations",
      "data-testid": "conversation-list",
    });
    this.element = h("nav", { class: "sidebar", "aria-label": "Inbox" }, this.#tabs, this.#list);
  }

  /** The tabs this role has. */
  get tabs(): InboxTab[] {
    return this.#role === "agent" ? ["mine", "queue"] : ["mine", "queue", "all"];
  }

  showTab(tab: InboxTab): void {
    this.#tab = tab;
    this.#render();
  }

  #inTab(c: Conversation, tab: InboxTab): boolean {
    if (tab === "mine") return c.assigned_agent_id === this.#me;
    if (tab === "queue") return c.status === "queued";
    return true;
  }

  /** Still to handle in a tab: what its count shows. */
  #count(tab: InboxTab): number {
    return this.#conversations.filter((c) => this.#inTab(c, tab) && c.status !== "resolved").length;
  }

  /** Unread messages in my own conversations (the page title). */
  get unreadMine(): number {
    let total = 0;
    for (const c of this.#conversations)
      if (c.assigned_agent_id === this.#me) total += this.#unread.get(c.id) ?? 0;
    return total;
  }

  /** Drops a conversation this user may no longer see (an agent's, after it went to a colleague). */
  remove(conversationId: Uuid): void {
    this.#conversations = this.#conversations.filter((c) => c.id !== conversationId);
    this.#unread.delete(conversationId);
    this.#render();
  }

  setConversations(conversations: Conversation[]): void {
    this.#conversations = [...conversations];
    this.#render();
  }

  select(conversationId: Uuid | null): void {
    this.#selected = conversationId;
    if (conversationId) this.#unread.delete(conversationId);
    this.#render();
    this.onUnreadChange();
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
  update(conversation: Conversation): number {
    const index = this.#conversations.findIndex((c) => c.id === conversation.id);
    const known = index === -1 ? undefined : this.#conversations[index];
    if (known && known.last_seq >= conversation.last_seq) return 0;
    // An agent sees the queue and their own: one assigned to a colleague leaves their list.
    if (
      this.#role === "agent" &&
      conversation.assigned_agent_id !== null &&
      conversation.assigned_agent_id !== this.#me
    ) {
      if (known) this.remove(conversation.id);
      return 0;
    }
    const gained = conversation.last_seq - (known?.last_seq ?? 0);
    if (known) this.#conversations[index] = conversation;
    else this.#conversations.push(conversation);
    if (gained > 0 && conversation.id !== this.#selected)
      this.#unread.set(conversation.id, (this.#unread.get(conversation.id) ?? 0) + gained);
    this.#sort();
    this.#render();
    this.onUnreadChange();
    return gained;
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
    this.#tabs.replaceChildren(
      ...this.tabs.map((tab) => {
        const button = h(
          "button",
          {
            type: "button",
            role: "tab",
            "aria-selected": tab === this.#tab ? "true" : "false",
            "data-testid": `tab-${tab}`,
            "data-count": this.#count(tab),
          },
          TAB_LABELS[tab],
          h("span", { class: "count", "data-testid": `tab-${tab}-count` }, String(this.#count(tab))),
        );
        button.addEventListener("click", () => this.showTab(tab));
        return button;
      }),
    );
    const shown = this.#conversations.filter((c) => this.#inTab(c, this.#tab));
    if (shown.length === 0) {
      this.#list.replaceChildren(h("li", { class: "empty" }, "Nothing here."));
      return;
    }
    this.#list.replaceChildren(
      ...shown.map((c) => {
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
          h("span", { class: "meta" }, `${c.status} · ${dateTimeOf(c.last_message_at)}`),
        );
        button.addEventListener("click", () => this.#onSelect(c.id));
        return h("li", { "data-status": c.status }, button);
      }),
    );
  }
}

export function contactName(conversation: Conversation): string {
  return conversation.contact.name || `+${conversation.contact.whatsapp_id}`;
}
