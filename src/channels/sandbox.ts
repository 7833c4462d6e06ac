/**
 * The default channel: no provider, no network. It accepts every message ("sent"), then reports
 * "delivered" and "read" after short delays, so the whole status flow can be seen and tested
 * locally. A text containing "#fail" is refused, to show the failed path.
 */
import { randomUUID } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { MEDIA_ERROR_CODES } from "../media/limits.ts";
import {
  CHANNEL_ERROR_CODES,
  ChannelError,
  type FetchedMedia,
  type OutboundChannel,
  type OutboundRequest,
  type OutboundResult,
  type StatusReport,
  type StatusSink,
} from "./channel.ts";

export interface SandboxChannelOptions {
  /** Delay between sent → delivered and delivered → read, in ms. Default 300. */
  stepMs?: number;
  /**
   * Where `bun run simulate --image` leaves inbound files (DATA_DIR/sandbox-media), read by
   * fetchMedia as the Graph API would serve them. Unset: the sandbox has no inbound media.
   */
  mediaDir?: string;
}

/** The ids `bun run simulate --image` gives files: nothing else is read from the folder. */
const SANDBOX_MEDIA_ID = /^sandbox-[0-9a-f]{32}$/;

/** The type a provider would declare, from the file's first bytes (the sandbox has no metadata). */
function sniffMimeType(bytes: Uint8Array): string {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47)) return "image/png";
  if (starts(0xff, 0xd8, 0xff)) return "image/jpeg";
  if (starts(0x47, 0x49, 0x46, 0x38)) return "image/gif";
  if (starts(0x52, 0x49, 0x46, 0x46) && bytes[8] === 0x57 && bytes[9] === 0x45) return "image/webp";
  if (starts(0x25, 0x50, 0x44, 0x46)) return "application/pdf";
  return "application/octet-stream";
}

export const SANDBOX_FAIL_MARKER = "#fail";
/** Status reports due this close together are delivered as one batch. */
const BATCH_MS = 5;

export class SandboxChannel implements OutboundChannel {
  readonly name = "sandbox";
  readonly #stepMs: number;
  readonly #mediaDir: string | undefined;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #sink: StatusSink | undefined;
  #batch: StatusReport[] = [];
  #flush: ReturnType<typeof setTimeout> | undefined;

  constructor(options: SandboxChannelOptions = {}) {
    this.#stepMs = options.stepMs ?? 300;
    this.#mediaDir = options.mediaDir;
  }

  attach(sink: StatusSink): void {
    this.#sink = sink;
  }

  async fetchMedia(providerMediaId: string, maxBytes: number): Promise<FetchedMedia> {
    if (!this.#mediaDir || !SANDBOX_MEDIA_ID.test(providerMediaId))
      throw new ChannelError(CHANNEL_ERROR_CODES.rejected, "the sandbox has no such media file");
    const path = join(this.#mediaDir, providerMediaId);
    const size = await stat(path).then(
      (s) => s.size,
      () => -1,
    );
    if (size < 0) throw new ChannelError(CHANNEL_ERROR_CODES.rejected, "the sandbox has no such media file");
    if (size > maxBytes)
      throw new ChannelError(MEDIA_ERROR_CODES.tooLarge, `the media file is larger than ${maxBytes} bytes`);
    const bytes = new Uint8Array(await readFile(path));
    return { bytes, mimeType: sniffMimeType(bytes) };
  }

  async send(request: OutboundRequest): Promise<OutboundResult> {
    if (request.content.text?.includes(SANDBOX_FAIL_MARKER))
      throw new ChannelError(CHANNEL_ERROR_CODES.sandboxFailure, "the sandbox refused this message (#fail)");
    return { whatsappMessageId: `wamid.sandbox.${randomUUID()}` };
  }

  stored(whatsappMessageId: string): void {
    this.#later(this.#stepMs, whatsappMessageId, "delivered");
    this.#later(this.#stepMs * 2, whatsappMessageId, "read");
  }

  #later(delayMs: number, whatsappMessageId: string, status: "delivered" | "read"): void {
    const timer = setTimeout(
      () => {
        this.#timers.delete(timer);
        this.#report({ whatsappMessageId, status, at: new Date() });
      },
      Math.max(delayMs, 1),
    );
    this.#timers.add(timer);
  }

  /**
   * Reports due within BATCH_MS of each other go to the sink as one batch, as the provider's
   * webhook delivers them: the inbound service applies a batch's sent/delivered/read reports in one
   * statement, where one report per call costs one statement each.
   */
  #report(report: StatusReport): void {
    this.#batch.push(report);
    if (this.#flush) return;
    this.#flush = setTimeout(() => {
      this.#flush = undefined;
      const batch = this.#batch;
      this.#batch = [];
      void this.#sink?.(batch).catch(() => {});
    }, BATCH_MS);
  }

  close(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    clearTimeout(this.#flush);
    this.#flush = undefined;
    this.#batch = [];
  }
}
