/**
 * The default channel: no provider, no network. It accepts every message ("sent"), then reports
 * "delivered" and "read" after short delays, so the whole status flow can be seen and tested
 * locally. A text containing "#fail" is refused, to show the failed path.
 */
import { randomUUID } from "node:crypto";
import {
  CHANNEL_ERROR_CODES,
  ChannelError,
  type OutboundChannel,
  type OutboundRequest,
  type OutboundResult,
  type StatusSink,
} from "./channel.ts";

export interface SandboxChannelOptions {
  /** Delay between sent → delivered and delivered → read, in ms. Default 300. */
  stepMs?: number;
}

export const SANDBOX_FAIL_MARKER = "#fail";

export class SandboxChannel implements OutboundChannel {
  readonly name = "sandbox";
  readonly #stepMs: number;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #sink: StatusSink | undefined;

  constructor(options: SandboxChannelOptions = {}) {
    this.#stepMs = options.stepMs ?? 300;
  }

  attach(sink: StatusSink): void {
    this.#sink = sink;
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
        void this.#sink?.([{ whatsappMessageId, status, at: new Date() }]).catch(() => {});
      },
      Math.max(delayMs, 1),
    );
    this.#timers.add(timer);
  }

  close(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}
