/**
 * HTTP long-polling: a GET waits until the session has packets (all of them go in one answer,
 * `\x1e`-joined); a POST carries packets from the client and is answered "ok".
 */
import type { Server } from "bun";
import { TransportError } from "../errors.ts";
import { ackResponse, type ExtraHeaders, pollResponse, statusResponse } from "../http.ts";
import {
  decodePollingPayload,
  ENCODED_CLOSE,
  ENCODED_NOOP,
  encodePollingPayload,
  type OutPacket,
  PacketType,
} from "../packet.ts";
import type { Transport, TransportOwner } from "./transport.ts";

const HTTP_BAD_REQUEST = 400;
const HTTP_PAYLOAD_TOO_LARGE = 413;
/** engine.io refuses binary POST bodies in protocol v4: binary travels as base64 in text. */
const BINARY_CONTENT_TYPE = "application/octet-stream";

export interface PollingOptions {
  maxHttpBufferSize: number;
  /** Smallest response that is compressed, or false when HTTP compression is off. */
  compressionThreshold: number | false;
}

interface PendingPoll {
  req: Request;
  headers: ExtraHeaders;
  resolve: (res: Response) => void;
}

class PayloadTooLarge extends Error {}

/** Reads a request body as text, refusing more than `limit` bytes without buffering them. */
async function readBody(req: Request, limit: number): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) throw new PayloadTooLarge();
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      reader.cancel().catch(() => {});
      throw new PayloadTooLarge();
    }
    chunks.push(value);
  }
  // Not fatal: invalid UTF-8 becomes U+FFFD and the packet decoder judges what is left.
  return new TextDecoder().decode(Buffer.concat(chunks, total));
}

export class PollingTransport implements Transport {
  readonly name = "polling" as const;
  private pending: PendingPoll | null = null;
  private receiving = false;
  private closed = false;

  constructor(
    private readonly owner: TransportOwner,
    private readonly opts: PollingOptions,
  ) {}

  get writable(): boolean {
    return this.pending !== null;
  }

  /** A GET: answered now if packets wait, else when the session sends some. */
  onPoll(req: Request, server: Server<unknown> | null, headers: ExtraHeaders): Response | Promise<Response> {
    if (this.pending !== null || this.closed) {
      this.owner.onTransportError(TransportError.POLL_OVERLAP);
      return statusResponse(HTTP_BAD_REQUEST, headers);
    }
    // A long poll outlives Bun's default 10 s request idle timeout; the heartbeat bounds it instead.
    server?.timeout(req, 0);
    return new Promise<Response>((resolve) => {
      const pending: PendingPoll = { req, headers, resolve };
      this.pending = pending;
      req.signal.addEventListener(
        "abort",
        () => {
          if (this.pending !== pending) return;
          this.pending = null;
          this.owner.onTransportError(TransportError.POLL_CLOSED_PREMATURELY);
        },
        { once: true },
      );
      this.owner.onPollReady();
    });
  }

  /** A POST with one or more packets. */
  async onData(req: Request, headers: ExtraHeaders): Promise<Response> {
    if (this.receiving) {
      this.owner.onTransportError(TransportError.DATA_OVERLAP);
      return statusResponse(HTTP_BAD_REQUEST, headers);
    }
    if (req.headers.get("content-type") === BINARY_CONTENT_TYPE) {
      this.owner.onTransportError(TransportError.INVALID_CONTENT);
      return statusResponse(HTTP_BAD_REQUEST, headers);
    }
    this.receiving = true;
    let body: string;
    try {
      body = await readBody(req, this.opts.maxHttpBufferSize);
    } catch (err) {
      const tooLarge = err instanceof PayloadTooLarge;
      this.owner.onTransportError(
        tooLarge ? TransportError.PAYLOAD_TOO_LARGE : TransportError.DATA_CLOSED_PREMATURELY,
      );
      return statusResponse(tooLarge ? HTTP_PAYLOAD_TOO_LARGE : HTTP_BAD_REQUEST, headers);
    } finally {
      this.receiving = false;
    }
    for (const packet of decodePollingPayload(body)) {
      if (packet.type === PacketType.CLOSE) {
        this.owner.onTransportClose();
        break;
      }
      this.owner.onPacket(packet.type, packet.data);
    }
    return ackResponse(req, headers);
  }

  send(packets: readonly OutPacket[], compress: boolean): void {
    const pending = this.pending;
    if (pending === null) return;
    this.pending = null;
    const body = encodePollingPayload(packets);
    pending.resolve(
      pollResponse(pending.req, body, pending.headers, {
        compress,
        threshold: this.opts.compressionThreshold,
      }),
    );
  }

  /** Session closed: a waiting GET gets the close packet so the client stops polling. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pending) this.send([ENCODED_CLOSE], false);
  }

  /** Replaced by a websocket: a waiting GET gets a noop, the client's polling is paused anyway. */
  discard(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pending) this.send([ENCODED_NOOP], false);
  }
}
