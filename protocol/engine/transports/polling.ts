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
const HTTP_REQUEST_TIMEOUT = 408;
const HTTP_PAYLOAD_TOO_LARGE = 413;
/** engine.io refuses binary POST bodies in protocol v4: binary travels as base64 in text. */
const BINARY_CONTENT_TYPE = "application/octet-stream";

export interface PollingOptions {
  maxHttpBufferSize: number;
  /** Milliseconds a POST body may take to arrive in full. */
  httpRequestBodyTimeout: number;
  /** Most chunks a POST body may arrive in. */
  maxBufferedChunks: number;
  /** Smallest response that is compressed, or false when HTTP compression is off. */
  compressionThreshold: number | false;
}

interface PendingPoll {
  req: Request;
  headers: ExtraHeaders;
  resolve: (res: Response) => void;
}

class PayloadTooLarge extends Error {}
class TooManyChunks extends Error {}

/** Why a body read was stopped before the body ended (the abort reason of its signal). */
const BodyReadAbort = {
  /** `httpRequestBodyTimeout` passed. */
  TIMEOUT: "timeout",
  /** The transport closed or was replaced by a websocket. */
  TRANSPORT_CLOSED: "transport closed",
} as const;
type BodyReadAbort = (typeof BodyReadAbort)[keyof typeof BodyReadAbort];

class BodyReadAborted extends Error {
  constructor(readonly reason: BodyReadAbort) {
    super(reason);
  }
}

/**
 * Reads a request body as text, refusing more than `limit` bytes or `maxChunks` pieces without
 * buffering them. Aborting `signal` (with a `BodyReadAbort` reason) cancels the reader and rejects
 * with `BodyReadAborted`.
 */
async function readBody(
  req: Request,
  limit: number,
  maxChunks: number,
  signal: AbortSignal,
): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) throw new PayloadTooLarge();
  if (!req.body) return "";
  const reader = req.body.getReader();
  const aborted = () => new BodyReadAborted(signal.reason as BodyReadAbort);
  // A cancelled reader ends its pending read with `done`, so every read is checked against the signal.
  const cancel = () => reader.cancel().catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      if (signal.aborted) throw aborted();
      const { done, value } = await reader.read();
      if (signal.aborted) throw aborted();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        cancel();
        throw new PayloadTooLarge();
      }
      chunks.push(value);
      if (chunks.length > maxChunks) {
        cancel();
        throw new TooManyChunks();
      }
    }
    // Not fatal: invalid UTF-8 becomes U+FFFD and the packet decoder judges what is left.
    return new TextDecoder().decode(Buffer.concat(chunks, total));
  } finally {
    signal.removeEventListener("abort", cancel);
  }
}

export class PollingTransport implements Transport {
  readonly name = "polling" as const;
  private pending: PendingPoll | null = null;
  /** Aborts the POST body being read; null when no POST is in progress (a second one overlaps). */
  private bodyRead: AbortController | null = null;
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

  /**
   * A POST with one or more packets. Answers given before the body was read in full close the
   * connection (see `statusResponse`), so a slow body never outlives its answer.
   */
  async onData(req: Request, headers: ExtraHeaders): Promise<Response> {
    if (this.closed) return statusResponse(HTTP_BAD_REQUEST, headers, true);
    if (this.bodyRead !== null) {
      this.owner.onTransportError(TransportError.DATA_OVERLAP);
      return statusResponse(HTTP_BAD_REQUEST, headers, true);
    }
    if (req.headers.get("content-type") === BINARY_CONTENT_TYPE) {
      this.owner.onTransportError(TransportError.INVALID_CONTENT);
      return statusResponse(HTTP_BAD_REQUEST, headers, true);
    }
    const bodyRead = new AbortController();
    this.bodyRead = bodyRead;
    const { httpRequestBodyTimeout, maxHttpBufferSize, maxBufferedChunks } = this.opts;
    const deadline = setTimeout(() => bodyRead.abort(BodyReadAbort.TIMEOUT), httpRequestBodyTimeout);
    let body: string;
    try {
      body = await readBody(req, maxHttpBufferSize, maxBufferedChunks, bodyRead.signal);
    } catch (err) {
      return this.refuseData(err, headers);
    } finally {
      clearTimeout(deadline);
      this.bodyRead = null;
    }
    for (const packet of decodePollingPayload(body)) {
      if (packet.type === PacketType.CLOSE) {
        this.onClientClose();
        break;
      }
      this.owner.onPacket(packet.type, packet.data);
    }
    return ackResponse(req, headers);
  }

  /**
   * The client sent a close packet: a GET still waiting is answered with a noop (not a close packet,
   * the client is already closing), then the session closes, as engine.io does.
   */
  private onClientClose(): void {
    if (this.pending !== null) this.send([ENCODED_NOOP], false);
    this.owner.onTransportClose();
  }

  /** The answer to a POST whose body could not be read, after telling the session (unless it is gone). */
  private refuseData(err: unknown, headers: ExtraHeaders): Response {
    if (err instanceof BodyReadAborted) {
      // Closed or replaced: the session is already ending or moved on; only the request is left.
      if (err.reason === BodyReadAbort.TRANSPORT_CLOSED)
        return statusResponse(HTTP_BAD_REQUEST, headers, true);
      this.owner.onTransportError(TransportError.DATA_TIMEOUT);
      return statusResponse(HTTP_REQUEST_TIMEOUT, headers, true);
    }
    if (err instanceof PayloadTooLarge) {
      this.owner.onTransportError(TransportError.PAYLOAD_TOO_LARGE);
      return statusResponse(HTTP_PAYLOAD_TOO_LARGE, headers, true);
    }
    if (err instanceof TooManyChunks) {
      this.owner.onTransportError(TransportError.TOO_MANY_CHUNKS);
      return statusResponse(HTTP_PAYLOAD_TOO_LARGE, headers, true);
    }
    this.owner.onTransportError(TransportError.DATA_CLOSED_PREMATURELY);
    return statusResponse(HTTP_BAD_REQUEST, headers, true);
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

  /**
   * Session closed: a waiting GET gets the close packet so the client stops polling, and a POST body
   * still trickling in is cut off (answered 400, connection closed).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.bodyRead?.abort(BodyReadAbort.TRANSPORT_CLOSED);
    if (this.pending) this.send([ENCODED_CLOSE], false);
  }

  /**
   * Replaced by a websocket: a waiting GET gets a noop, the client's polling is paused anyway (and
   * it sends `5` only once its POSTs are done, so a body still being read is not the client's).
   */
  discard(): void {
    if (this.closed) return;
    this.closed = true;
    this.bodyRead?.abort(BodyReadAbort.TRANSPORT_CLOSED);
    if (this.pending) this.send([ENCODED_NOOP], false);
  }
}
