/**
 * How services and REST routes bring live sockets in line with a change of an access input,
 * without knowing about sockets. The realtime layer implements it cluster-wide
 * (src/realtime/live-access.ts); tests and scripts may use `noLiveAccess`.
 */
import type { Uuid } from "../shared/events.ts";
import type { ConversationScope } from "./access.ts";

export interface LiveAccess {
  /**
   * A conversation's assignee changed: every socket, on every node, that may no longer watch it
   * leaves its room (and gets `left_conversation` with reason `access_revoked`). Resolves when done.
   */
  conversationChanged(conversation: ConversationScope & { id: Uuid }): Promise<void>;
  /**
   * A user's role, organization, active flag or sessions changed (call it after the commit):
   * re-reads the user; inactive or deleted → every socket of theirs is disconnected
   * (`account_disabled`); otherwise their sockets get the current role and organization and leave
   * every room they may no longer be in.
   */
  userChanged(userId: Uuid): Promise<void>;
}

export const noLiveAccess: LiveAccess = {
  conversationChanged: async () => {},
  userChanged: async () => {},
};
