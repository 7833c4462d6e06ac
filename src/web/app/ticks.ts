/** How a message status looks: the WhatsApp convention every agent already reads at a glance. */
import type { MessageStatus } from "../../shared/events.ts";

export interface Tick {
  glyph: string;
  /** Spoken and hover text. */
  label: string;
}

export const TICKS: Record<MessageStatus, Tick> = {
  pending: { glyph: "◷", label: "Sending" },
  sent: { glyph: "✓", label: "Sent" },
  delivered: { glyph: "✓✓", label: "Delivered" },
  read: { glyph: "✓✓", label: "Read" },
  failed: { glyph: "!", label: "Failed" },
};
