/** The connection state in the top bar, so an agent knows when the inbox is live. */
import type { ConnectionState } from "../../client/index.ts";
import { h } from "./dom.ts";

const LABELS: Record<ConnectionState, string> = {
  idle: "Offline",
  connecting: "Connecting…",
  connected: "Live",
  reconnecting: "Reconnecting…",
  disconnected: "Disconnected",
  unauthorized: "Signed out",
};

export function renderConnectionBadge(): { element: HTMLSpanElement; set: (state: ConnectionState) => void } {
  const element = h("span", { class: "connection", role: "status", "data-testid": "connection-status" });
  const set = (state: ConnectionState) => {
    element.dataset.state = state;
    element.textContent = LABELS[state];
  };
  set("idle");
  return { element, set };
}
