/**
 * WhatsApp Cloud API channel: POST {base}/{phone-number-id}/messages with a bearer token
 * (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages). Statuses after
 * "sent" arrive through the webhook, not here. Every failure says whether it is worth retrying
 * (graph-errors.ts); the outbox decides when. One call of `send` is one HTTP request, never more.
 */
import type { MessageContent, MessageType } from "../shared/events.ts";
import {
  CHANNEL_ERROR_CODES,
  ChannelError,
  type OutboundChannel,
  type OutboundRequest,
  type OutboundResult,
} from "./channel.ts";
import { isRetryableGraphFailure, parseRetryAfter } from "./graph-errors.ts";

export interface WhatsappCloudOptions {
  /** Graph API base, e.g. https://graph.facebook.com/v21.0 (a local fake in tests). */
  baseUrl: string;
  phoneNumberId: string;
  accessToken: string;
  /** Per-request timeout in ms. Default 10000. */
  timeoutMs?: number;
}

interface GraphSendResponse {
  messages?: Array<{ id?: string }>;
  error?: { message?: string; code?: number; type?: string };
}

/** The Graph API body for one message. */
export function graphMessageBody(
  to: string,
  type: MessageType,
  content: MessageContent,
): Record<string, unknown> {
  const base = { messaging_product: "whatsapp", recipient_type: "individual", to };
  switch (type) {
    case "text":
      return { ...base, type, text: { body: content.text ?? "", preview_url: false } };
    case "image":
    case "video":
      return { ...base, type, [type]: { link: content.url, caption: content.caption } };
    case "audio":
      return { ...base, type, audio: { link: content.url } };
    case "document":
      return {
        ...base,
        type,
        document: { link: content.url, caption: content.caption, filename: content.filename },
      };
    case "template":
      return {
        ...base,
        type,
        template: {
          name: content.template_name,
          language: { code: content.language ?? "en_US" },
          components: content.parameters?.length
            ? [{ type: "body", parameters: content.parameters.map((text) => ({ type: "text", text })) }]
            : [],
        },
      };
  }
}

export class WhatsappCloudChannel implements OutboundChannel {
  readonly name = "whatsapp";
  readonly #controllers = new Set<AbortController>();

  constructor(private readonly options: WhatsappCloudOptions) {}

  async send(request: OutboundRequest): Promise<OutboundResult> {
    const url = `${this.options.baseUrl}/${encodeURIComponent(this.options.phoneNumberId)}/messages`;
    const controller = new AbortController();
    this.#controllers.add(controller);
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs ?? 10_000);
    let res: Response;
    let body: GraphSendResponse | null;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${this.options.accessToken}`, "content-type": "application/json" },
        body: JSON.stringify(graphMessageBody(request.to, request.messageType, request.content)),
        signal: controller.signal,
      });
      // Inside the timeout: a provider that stalls mid-body is as slow as one that never answers.
      body = (await res.json().catch(() => null)) as GraphSendResponse | null;
      if (controller.signal.aborted) throw controller.signal.reason;
    } catch (err) {
      if (controller.signal.aborted)
        throw new ChannelError(CHANNEL_ERROR_CODES.timeout, "WhatsApp API timed out", { retryable: true });
      throw new ChannelError(
        CHANNEL_ERROR_CODES.network,
        `WhatsApp API unreachable: ${(err as Error).message}`,
        { retryable: true },
      );
    } finally {
      clearTimeout(timer);
      this.#controllers.delete(controller);
    }
    if (!res.ok) {
      const graphCode = typeof body?.error?.code === "number" ? body.error.code : undefined;
      const retryable = isRetryableGraphFailure(res.status, graphCode);
      const fallback = retryable ? CHANNEL_ERROR_CODES.unavailable : CHANNEL_ERROR_CODES.rejected;
      const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
      throw new ChannelError(
        graphCode !== undefined ? String(graphCode) : fallback,
        (typeof body?.error?.message === "string" ? body.error.message.slice(0, 1000) : undefined) ??
          `WhatsApp API answered HTTP ${res.status}`,
        { retryable, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
      );
    }
    const id = body?.messages?.[0]?.id;
    if (!id)
      throw new ChannelError(CHANNEL_ERROR_CODES.badResponse, "WhatsApp API answered without a message id");
    return { whatsappMessageId: id };
  }

  close(): void {
    for (const c of this.#controllers) c.abort();
  }
}
