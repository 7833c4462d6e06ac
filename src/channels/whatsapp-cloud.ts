/**
 * WhatsApp Cloud API channel: POST {base}/{phone-number-id}/messages with a bearer token
 * (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages). Statuses after
 * "sent" arrive through the webhook, not here. Every failure says whether it is worth retrying
 * (graph-errors.ts); the outbox decides when. One call of `send` is one HTTP request, never more.
 */

import { MEDIA_ERROR_CODES } from "../media/limits.ts";
import type { MessageContent, MessageType } from "../shared/events.ts";
import {
  CHANNEL_ERROR_CODES,
  ChannelError,
  type FetchedMedia,
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
  /** The Graph media id of a file uploaded first; otherwise `content.url` is sent as a link. */
  uploadedMediaId?: string,
): Record<string, unknown> {
  const base = { messaging_product: "whatsapp", recipient_type: "individual", to };
  const file = uploadedMediaId ? { id: uploadedMediaId } : { link: content.url };
  switch (type) {
    case "text":
      return { ...base, type, text: { body: content.text ?? "", preview_url: false } };
    case "image":
    case "video":
      return { ...base, type, [type]: { ...file, caption: content.caption } };
    case "audio":
      return { ...base, type, audio: file };
    case "document":
      return {
        ...base,
        type,
        document: { ...file, caption: content.caption, filename: content.filename },
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
      // A file of ours is uploaded first (POST /{phone-number-id}/media), then sent by its Graph id.
      const uploaded = request.media ? await this.#upload(request.media, controller.signal) : undefined;
      res = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${this.options.accessToken}`, "content-type": "application/json" },
        body: JSON.stringify(graphMessageBody(request.to, request.messageType, request.content, uploaded)),
        signal: controller.signal,
      });
      // Inside the timeout: a provider that stalls mid-body is as slow as one that never answers.
      body = (await res.json().catch(() => null)) as GraphSendResponse | null;
      if (controller.signal.aborted) throw controller.signal.reason;
    } catch (err) {
      if (err instanceof ChannelError) throw err;
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

  /**
   * The Graph API media flow: GET {base}/{media-id} answers a short-lived URL with the type and
   * size; GET that URL with the same bearer token answers the bytes. Both under one timeout; the
   * size is checked from the lookup and again while reading.
   */
  async fetchMedia(providerMediaId: string, maxBytes: number): Promise<FetchedMedia> {
    const controller = new AbortController();
    this.#controllers.add(controller);
    const timer = setTimeout(() => controller.abort(), (this.options.timeoutMs ?? 10_000) * 3);
    const headers = { authorization: `Bearer ${this.options.accessToken}` };
    try {
      const lookup = await this.#fetchOrThrow(
        `${this.options.baseUrl}/${encodeURIComponent(providerMediaId)}`,
        { headers, signal: controller.signal },
      );
      const info = (await lookup.json().catch(() => null)) as {
        url?: unknown;
        mime_type?: unknown;
        file_size?: unknown;
      } | null;
      if (typeof info?.url !== "string" || !/^https?:\/\//.test(info.url))
        throw new ChannelError(
          CHANNEL_ERROR_CODES.badResponse,
          "WhatsApp media lookup answered without a URL",
        );
      if (typeof info.file_size === "number" && info.file_size > maxBytes) throw tooLarge(maxBytes);
      const download = await this.#fetchOrThrow(info.url, { headers, signal: controller.signal });
      const bytes = await readLimited(download, maxBytes);
      const mimeType =
        typeof info.mime_type === "string" ? info.mime_type : (download.headers.get("content-type") ?? "");
      return { bytes, mimeType };
    } catch (err) {
      if (err instanceof ChannelError) throw err;
      if (controller.signal.aborted)
        throw new ChannelError(CHANNEL_ERROR_CODES.timeout, "WhatsApp media download timed out", {
          retryable: true,
        });
      throw new ChannelError(
        CHANNEL_ERROR_CODES.network,
        `WhatsApp media unreachable: ${(err as Error).message}`,
        {
          retryable: true,
        },
      );
    } finally {
      clearTimeout(timer);
      this.#controllers.delete(controller);
    }
  }

  async #upload(media: NonNullable<OutboundRequest["media"]>, signal: AbortSignal): Promise<string> {
    const form = new FormData();
    form.set("messaging_product", "whatsapp");
    form.set("type", media.mimeType);
    form.set("file", new Blob([media.bytes], { type: media.mimeType }), media.filename ?? "file");
    const res = await this.#fetchOrThrow(
      `${this.options.baseUrl}/${encodeURIComponent(this.options.phoneNumberId)}/media`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${this.options.accessToken}` },
        body: form,
        signal,
      },
    );
    const answer = (await res.json().catch(() => null)) as { id?: unknown } | null;
    if (typeof answer?.id !== "string")
      throw new ChannelError(CHANNEL_ERROR_CODES.badResponse, "WhatsApp media upload answered without an id");
    return answer.id;
  }

  /** A request whose non-2xx answer becomes a ChannelError classified like a send's. */
  async #fetchOrThrow(url: string, init: RequestInit): Promise<Response> {
    const res = await fetch(url, init);
    if (res.ok) return res;
    const body = (await res.json().catch(() => null)) as GraphSendResponse | null;
    const graphCode = typeof body?.error?.code === "number" ? body.error.code : undefined;
    const retryable = isRetryableGraphFailure(res.status, graphCode);
    const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
    throw new ChannelError(
      graphCode !== undefined
        ? String(graphCode)
        : retryable
          ? CHANNEL_ERROR_CODES.unavailable
          : CHANNEL_ERROR_CODES.rejected,
      `WhatsApp media request answered HTTP ${res.status}`,
      { retryable, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
    );
  }

  close(): void {
    for (const c of this.#controllers) c.abort();
  }
}

const tooLarge = (maxBytes: number) =>
  new ChannelError(MEDIA_ERROR_CODES.tooLarge, `the media file is larger than ${maxBytes} bytes`);

/** The body, refusing (and cancelling) it as soon as it grows past `maxBytes`. */
async function readLimited(res: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw tooLarge(maxBytes);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      await res.body?.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
