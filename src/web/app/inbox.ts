/**
 * The inbox screen: wires the client module (socket, REST, typing helpers) to the views. All
 * real-time rules (dedupe, gaps, catch-up, refresh) live in the client module; this file only decides
 * what is on screen.
 */

import {
  newIdempotencyKey,
  type Session,
  TypingNotifier,
  TypingTracker,
  typingLabel,
} from "../../client/index.ts";
import type { Conversation } from "../../shared/api.ts";
import type { Uuid } from "../../shared/events.ts";
import { renderConnectionBadge } from "./connection-badge.ts";
import { ConversationListView, contactName } from "./conversation-list-view.ts";
import { h } from "./dom.ts";
import { ServiceWindowView } from "./service-window-view.ts";
import { SimulateCustomerPanel } from "./simulate-panel.ts";
import { type Teammate, type ThreadAction, ThreadView } from "./thread-view.ts";

const APP_TITLE = "Switchboard";

export interface InboxOptions {
  /** Called when the session is over (logout, or the refresh token was refused). */
  onSignedOut: (notice?: string) => void;
}

/** How many conversations the list loads. */
const CONVERSATION_PAGE = 50;

export class Inbox {
  readonly #session: Session;
  readonly #options: InboxOptions;
  readonly #list: ConversationListView;
  readonly #thread: ThreadView;
  readonly #window: ServiceWindowView;
  readonly #typingOut: TypingNotifier;
  readonly #typingIn: TypingTracker;
  readonly #names = new Map<Uuid, string>();
  /** The organization's agents and admins with their presence (GET /presence, then presence:updated). */
  readonly #teammates = new Map<Uuid, Teammate>();
  readonly #cleanups: (() => void)[] = [];
  #selected: Uuid | null = null;
  /**
   * The composed message not confirmed yet and its idempotency key: pressing Send again after a
   * failure reuses the key, so a first attempt that did reach the server is not sent twice.
   */
  #draft: { conversationId: Uuid; text: string; key: string } | null = null;
  /** Set once the first list is loaded: later greetings are reconnections. */
  #listLoaded = false;
  #closed = false;

  constructor(session: Session, options: InboxOptions) {
    this.#session = session;
    this.#options = options;
    this.#names.set(session.user.id, session.user.name || session.user.email);
    this.#list = new ConversationListView((id) => void this.select(id), session.user);
    this.#list.onUnreadChange = () => this.#updateTitle();
    this.#thread = new ThreadView({
      onInput: () => {
        if (this.#selected) this.#typingOut.input(this.#selected);
      },
      onSend: (text) => this.#send(text),
      onAction: (action, agentId) => this.#act(action, agentId),
      nameOf: (id) => this.#nameOf(id),
      onRetry: async (messageId) => {
        if (this.#selected) await this.#session.api.retryMessage(this.#selected, messageId);
      },
      loadMedia: (url) => this.#session.api.fetchMedia(url),
    });
    this.#window = new ServiceWindowView({
      onSendTemplate: async (name, language) => {
        if (this.#selected) await this.#session.api.sendTemplate(this.#selected, name, language);
      },
    });
    // Above the send box (the thread's last element), so the state is read before typing.
    this.#thread.element.insertBefore(this.#window.element, this.#thread.element.lastElementChild);
    const socket = session.socket;
    this.#typingOut = new TypingNotifier({
      start: (id) => socket.startTyping(id),
      stop: (id) => socket.stopTyping(id),
      idleMs: 2000,
    });
    this.#typingIn = new TypingTracker({
      expireMs: 5000,
      onChange: (conversationId, userIds) => {
        if (conversationId === this.#selected)
          this.#thread.setTyping(typingLabel(userIds.map((id) => this.#nameOf(id))));
      },
    });
  }

  /** Renders into `root`, connects and opens the first (or the given) conversation. */
  async start(root: HTMLElement, initialConversation?: Uuid): Promise<void> {
    const { socket, user } = this.#session;
    const badge = renderConnectionBadge();
    const logout = h("button", { type: "button", "data-testid": "logout" }, "Log out");
    logout.addEventListener("click", () => this.close("You are logged out."));
    root.replaceChildren(
      h(
        "header",
        { class: "topbar" },
        h("span", { class: "brand" }, "Switchboard"),
        h("span", { class: "spacer" }),
        badge.element,
        user.role === "org_admin" && h("a", { href: "#admin", "data-testid": "admin-link" }, "Users"),
        h(
          "span",
          { "data-testid": "current-user", "data-user-id": user.id },
          `${this.#nameOf(user.id)} (${user.role})`,
        ),
        logout,
      ),
      h("main", { class: "inbox" }, h("div", { class: "sidebar" }, this.#list.element), this.#thread.element),
    );
    void this.#addSandboxPanel(root);

    this.#cleanups.push(
      socket.onConnectionChange(({ state }) => {
        badge.set(state);
        if (state === "unauthorized") this.close("Your session has expired. Please log in again.");
      }),
      socket.onNewMessage((message, source) => {
        if (message.sender_id) this.#typingIn.clearUser(message.conversation_id, message.sender_id);
        if (source === "live" && message.direction === "inbound" && document.hidden)
          this.#notify("New message", message.content.text ?? `[${message.message_type}]`);
        this.#list.touch(message.conversation_id, message.created_at);
        if (message.conversation_id === this.#selected) this.#thread.addMessage(message);
      }),
      // The list stays live without joining every conversation; updates missed while disconnected
      // are picked up by reloading the list on every reconnection.
      socket.onConversationUpdated((conversation) => this.#onConversation(conversation)),
      socket.on("conversation:assigned", (event) => {
        this.#onConversation(event.conversation);
        const by = event.assigned_by ? ` by ${event.assigned_by.name}` : "";
        this.#notify(`Assigned to you${by}`, contactName(event.conversation));
      }),
      socket.on("conversation:revoked", (event) => {
        if (user.role === "agent") this.#list.remove(event.conversation_id);
        if (event.conversation_id === this.#selected)
          this.#thread.revoke("This conversation is no longer yours to handle.");
      }),
      socket.on("conversation:viewers", (event) => {
        if (event.conversation_id !== this.#selected) return;
        for (const v of event.viewers) this.#names.set(v.user_id, v.user_name);
        this.#thread.setViewers(event.viewers.filter((v) => v.user_id !== user.id).map((v) => v.user_name));
      }),
      socket.on("presence:updated", (event) => {
        const known = this.#teammates.get(event.user_id);
        if (known) known.status = event.status;
        this.#refreshHeader();
      }),
      socket.onConnected(() => {
        if (this.#listLoaded) void this.#reloadList();
      }),
      socket.onMessageStatus((event) => {
        if (event.conversation_id === this.#selected)
          this.#thread.setStatus(event.message_id, event.status, event);
      }),
      socket.onTyping((event) => {
        if (event.user_id === user.id) return;
        // Remember the name before the tracker's onChange renders the label.
        if (event.user_name) this.#names.set(event.user_id, event.user_name);
        this.#typingIn.update(event);
      }),
    );

    await socket.connect();
    if (typeof Notification !== "undefined" && Notification.permission === "default")
      void Notification.requestPermission().catch(() => {});
    await this.#loadTeammates();
    const page = await this.#session.api.listConversations({ limit: CONVERSATION_PAGE });
    this.#list.setConversations(page.data);
    this.#listLoaded = true;
    const first = initialConversation ?? page.data[0]?.id;
    if (first) await this.select(first);
    else this.#thread.setEnabled(false);
  }

  /** Opens a conversation: leaves the previous room, joins this one, then shows its history. */
  async select(conversationId: Uuid): Promise<void> {
    if (conversationId === this.#selected) return;
    const previous = this.#selected;
    const socket = this.#session.socket;
    if (previous) {
      this.#typingOut.done(previous);
      socket.leaveConversation(previous).catch(() => {});
    }
    this.#selected = conversationId;
    this.#list.select(conversationId);
    const conversation = this.#list.find(conversationId);
    this.#thread.open(conversation ? contactName(conversation) : "Conversation", []);
    this.#window.show(conversation);
    // Viewers are read-only: the server would refuse their messages anyway.
    this.#thread.setEnabled(this.#session.user.role !== "viewer");
    this.#thread.element.dataset.conversationId = conversationId;
    // Join before reading history: whatever is stored after the read arrives live, and the view drops
    // what arrives both ways.
    await socket.joinConversation(conversationId);
    const history = await socket.loadHistory(conversationId);
    if (this.#selected !== conversationId) return;
    this.#refreshHeader();
    for (const message of history) this.#thread.addMessage(message);
    this.#thread.setTyping(typingLabel(this.#typingIn.typists(conversationId).map((id) => this.#nameOf(id))));
  }

  /** With the sandbox channel: the "simulate customer" panel under the conversation list. */
  async #addSandboxPanel(root: HTMLElement): Promise<void> {
    const api = this.#session.api;
    if (!(await api.sandboxEnabled().catch(() => false)) || this.#closed) return;
    const panel = new SimulateCustomerPanel(async (request) => {
      await api.simulateCustomer(request);
    });
    root.querySelector(".sidebar")?.append(panel.element);
  }

  /** A conversation's new state (live update or an action's answer): the list, the header, the title. */
  #onConversation(conversation: Conversation): void {
    const { user } = this.#session;
    const gained = this.#list.update(conversation);
    if (conversation.id === this.#selected) {
      this.#refreshHeader();
      this.#window.show(this.#list.find(conversation.id));
    }
    const mine = conversation.assigned_agent_id === user.id;
    if (gained > 0 && mine && (conversation.id !== this.#selected || document.hidden))
      this.#notify("New activity", contactName(conversation));
  }

  #refreshHeader(): void {
    const conversation = this.#selected ? this.#list.find(this.#selected) : undefined;
    if (!conversation) return;
    const teammates = [...this.#teammates.values()].sort((a, b) => a.name.localeCompare(b.name));
    this.#thread.setConversation(conversation, this.#session.user, teammates);
  }

  async #loadTeammates(): Promise<void> {
    try {
      const { data } = await this.#session.api.presence();
      for (const t of data) {
        this.#teammates.set(t.user_id, { user_id: t.user_id, name: t.name, status: t.status });
        this.#names.set(t.user_id, t.name);
      }
    } catch {
      // Names then fall back to "Teammate …"; the picker lists nobody until the next reload.
    }
  }

  async #act(action: ThreadAction, agentId?: Uuid | null): Promise<void> {
    const id = this.#selected;
    if (!id) return;
    const api = this.#session.api;
    const { conversation } =
      action === "claim"
        ? await api.claim(id)
        : action === "assign"
          ? await api.assign(id, agentId ?? null)
          : action === "resolve"
            ? await api.resolve(id)
            : await api.reopen(id);
    this.#onConversation(conversation);
    this.#refreshHeader();
  }

  /** Tab title count and a desktop notification (when allowed) for activity in one's own conversations. */
  #updateTitle(): void {
    const unread = this.#list.unreadMine;
    document.title = unread > 0 ? `(${unread}) ${APP_TITLE}` : APP_TITLE;
  }

  #notify(title: string, body: string): void {
    if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
    try {
      new Notification(title, { body, tag: "switchboard" });
    } catch {
      // Some browsers only allow notifications from a service worker: the title count still shows it.
    }
  }

  async #reloadList(): Promise<void> {
    try {
      const page = await this.#session.api.listConversations({ limit: CONVERSATION_PAGE });
      for (const conversation of page.data) this.#list.update(conversation);
      if (this.#selected) this.#window.show(this.#list.find(this.#selected));
    } catch {
      // The next reconnection (or the next conversation:updated) brings the list up to date.
    }
  }

  /** Disconnects and hands back to the login screen. */
  close(notice?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#typingOut.dispose();
    this.#typingIn.dispose();
    this.#window.dispose();
    for (const cleanup of this.#cleanups) cleanup();
    this.#session.socket.close();
    this.#session.tokens.stop();
    this.#options.onSignedOut(notice);
  }

  async #send(text: string): Promise<void> {
    const conversationId = this.#selected;
    if (!conversationId) return;
    this.#typingOut.done(conversationId);
    const draft = this.#draft;
    const key =
      draft && draft.conversationId === conversationId && draft.text === text
        ? draft.key
        : newIdempotencyKey();
    this.#draft = { conversationId, text, key };
    await this.#session.socket.sendText(conversationId, text, { idempotencyKey: key });
    this.#draft = null;
  }

  /**
   * A display name for a user id: the signed-in user's from the login answer, teammates' from the
   * `user_name` of their `user_typing` events. The fallback ("Teammate" plus the start of the id)
   * covers a server that sends no name.
   */
  #nameOf(userId: Uuid): string {
    return this.#names.get(userId) ?? `Teammate ${userId.slice(0, 4)}`;
  }
}
