/**
 * The sandbox's "simulate customer" panel (shown only when GET /api/v1/sandbox answers, i.e. with
 * CHANNEL=sandbox): makes a customer write in, through the server's real inbound path.
 */
import type { SimulatedCustomerRequest } from "../../shared/api.ts";
import { h } from "./dom.ts";

export class SimulateCustomerPanel {
  readonly element: HTMLElement;

  constructor(send: (request: SimulatedCustomerRequest) => Promise<void>) {
    const from = h("input", {
      type: "tel",
      name: "from",
      value: "+15550001111",
      "aria-label": "Customer number",
      required: true,
      "data-testid": "simulate-from",
    });
    const name = h("input", {
      type: "text",
      name: "name",
      placeholder: "Name (optional)",
      "aria-label": "Customer name",
      "data-testid": "simulate-name",
    });
    const text = h("input", {
      type: "text",
      name: "text",
      placeholder: "What the customer writes",
      "aria-label": "Customer message",
      required: true,
      maxlength: 4096,
      "data-testid": "simulate-text",
    });
    const button = h("button", { type: "submit", "data-testid": "simulate-send" }, "Send as customer");
    const error = h("p", { class: "error", role: "alert", "data-testid": "simulate-error" });
    const form = h("form", { class: "simulate-form" }, from, name, text, button);
    this.element = h(
      "section",
      { class: "simulate-panel", "aria-label": "Simulate a customer", "data-testid": "simulate-panel" },
      h("h3", {}, "Simulate customer (sandbox)"),
      form,
      error,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!text.value.trim() || !from.value.trim()) return;
      button.disabled = true;
      error.textContent = "";
      const request: SimulatedCustomerRequest = { from: from.value.trim(), text: text.value };
      if (name.value.trim()) request.name = name.value.trim();
      send(request).then(
        () => {
          text.value = "";
          button.disabled = false;
        },
        (err: unknown) => {
          button.disabled = false;
          error.textContent = `Not sent: ${err instanceof Error ? err.message : String(err)}`;
        },
      );
    });
  }
}
