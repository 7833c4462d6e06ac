/**
 * The outbound channel: how an agent's message leaves Switchboard (WhatsApp Cloud API, or the
 * sandbox). `send` resolves once the channel accepted the message (→ "sent") and rejects with a
 * ChannelError when it refused it (→ "failed"). Later steps (delivered, read, late failures) come
 * back as StatusReports: from the WhatsApp webhook, or straight from the sandbox.
 */
import type { MessageContent, MessageType, Uuid } from "../shared/events.ts";

export interface OutboundRequest {
  messageId: Uuid;
  /** The contact's WhatsApp id (phone number in international format, digits only). */
  to: string;
  messageType: MessageType;
  content: MessageContent;
  /** The file of a media message sent by id (`content.media_id`), read from Switchboard's storage. */
  media?: { bytes: Uint8Array<ArrayBuffer>; mimeType: string; filename?: string | undefined };
}

export interface OutboundResult {
  /** The channel's id for the message ("wamid.…"), the key of later status reports. */
  whatsappMessageId: string;
}

export type ReportedStatus = "sent" | "delivered" | "read" | "failed";

export interface StatusReport {
  whatsappMessageId: string;
  status: ReportedStatus;
  at: Date;
  errorCode?: string;
  errorMessage?: string;
}

/** Where a channel delivers status reports it produces itself (the sandbox). */
export type StatusSink = (reports: StatusReport[]) => Promise<void>;

/** How a refusal may be retried: not at all (permanent), or later (after `retryAfterMs` when the provider said). */
export interface ChannelErrorOptions {
  /** True for transient failures (network, timeout, 5xx, rate limits): the outbox tries again. Default false. */
  retryable?: boolean;
  /** The provider's Retry-After, in ms. */
  retryAfterMs?: number;
}

export class ChannelError extends Error {
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(
    /** Stable code stored in messages.error_code (the provider's code when it gave one). */
    readonly code: string,
    message: string,
    options: ChannelErrorOptions = {},
  ) {
    super(message);
    this.name = "ChannelError";
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export const CHANNEL_ERROR_CODES = {
  timeout: "channel_timeout",
  /** The provider answered 429 or 5xx without an error code of its own. */
  unavailable: "channel_unavailable",
  network: "channel_unreachable",
  rejected: "channel_rejected",
  badResponse: "channel_bad_response",
  unsupported: "unsupported_message_type",
  sandboxFailure: "sandbox_failure",
} as const;

export interface OutboundChannel {
  readonly name: string;
  send(request: OutboundRequest): Promise<OutboundResult>;
  /** Called once at start-up with the sink for self-produced reports; webhook channels ignore it. */
  attach?(sink: StatusSink): void;
  /**
   * The "sent" step of `whatsappMessageId` is stored: reports about it can now be applied. A channel
   * that reports by itself (the sandbox) starts its reports here, never before.
   */
  stored?(whatsappMessageId: string): void;
  /**
   * Downloads an inbound media file by the provider's media id, refusing more than `maxBytes`
   * (ChannelError `media_too_large`, permanent). Channels without inbound media leave it out.
   */
  fetchMedia?(providerMediaId: string, maxBytes: number): Promise<FetchedMedia>;
  /** Stops timers and pending work (shutdown). */
  close(): void;
}

export interface FetchedMedia {
  bytes: Uint8Array;
  /** As the provider declared it. */
  mimeType: string;
}
