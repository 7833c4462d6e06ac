/** The one DOM helper the views share: build an element with attributes and children in one call. */

export type Attrs = Record<string, string | number | boolean | null | undefined>;
export type Child = Node | string | null | undefined | false;

/**
 * `h("button", { type: "submit", "data-testid": "send" }, "Send")`. Boolean true sets an empty
 * attribute, false/null/undefined leave it out. Text children are text nodes (never parsed as HTML,
 * so message content cannot inject markup).
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

/** Short local time for a timestamp ("14:05"). */
export function timeOf(iso: string | null): string {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? ""
    : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** The calendar day of a timestamp in local time ("2026-12-04"), for day separators. */
export function dayOf(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** A day as people say it: "Today", "Yesterday", or the date. */
export function dayLabel(iso: string, now = new Date()): string {
  const day = dayOf(iso);
  if (day === dayOf(now.toISOString())) return "Today";
  if (day === dayOf(new Date(now.getTime() - 86_400_000).toISOString())) return "Yesterday";
  return new Date(iso).toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" });
}

/** The time for today's timestamps, the date and time for older ones (the inbox list). */
export function dateTimeOf(iso: string | null): string {
  if (!iso) return "";
  const label = dayLabel(iso);
  return label === "Today" ? timeOf(iso) : `${label} ${timeOf(iso)}`;
}
