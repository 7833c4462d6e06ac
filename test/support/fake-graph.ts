/**
 * A fake WhatsApp Cloud API (Graph API) on 127.0.0.1: POST /{phone-number-id}/messages answers
 * what `behaviour` decides per request: accept (200 with a wamid, the message recorded), an HTTP
 * error with a Graph error body and optional Retry-After, a slow answer, or a connection reset
 * (closed without a response). GET /{media-id} and GET /download/{media-id} serve the media files
 * put with `addMedia` (the Graph API's two-step download), to the bearer token only; `behaviour`
 * decides for those requests too ("accept" serves the file). A raw TCP listener, because resetting a connection on purpose is
 * exactly what an HTTP server library will not do.
 */
import type { Socket, TCPSocketListener } from "bun";

export type FakeAction =
  | { kind: "accept" }
  | { kind: "error"; status: number; code?: number; message?: string; retryAfterS?: number }
  | { kind: "reset" }
  | { kind: "slow"; ms: number; next: FakeAction };

export interface AcceptedMessage {
  wamid: string;
  to: string;
  text: string | undefined;
  type: string | undefined;
  /** The Graph media id a media message names (`{image: {id}}` …). */
  mediaId: string | undefined;
  /** When the request arrived and when the 200 was written (ms since epoch). */
  receivedAt: number;
  at: number;
}

export interface FakeMedia {
  bytes: Uint8Array;
  mimeType: string;
  /** The size the lookup declares (default the real one). */
  declaredSize?: number;
}

export interface FakeRequest {
  method: string;
  n: number;
  receivedAt: number;
  path: string;
  authorization: string | undefined;
  body: ({ to?: string; type?: string; text?: { body?: string } } & Record<string, unknown>) | null;
  /** Bytes of the request body (uploads are multipart, not JSON). */
  size: number;
}

export interface FakeGraph {
  /** Base URL for WHATSAPP_API_BASE_URL. */
  url: string;
  /** Every message the fake accepted (answered 200), in order. */
  accepted: AcceptedMessage[];
  /** Every request received (including refused and reset ones). */
  requests: FakeRequest[];
  /** Files uploaded to POST /{phone-number-id}/media, with the Graph id each got. */
  uploads: Array<{ id: string; size: number }>;
  /** Serves `media` under the provider media id `id`. */
  addMedia(id: string, media: FakeMedia): void;
  /** Replaces the behaviour. */
  setBehaviour(behaviour: (req: FakeRequest) => FakeAction): void;
  close(): void;
}

interface ConnState {
  buffer: Buffer;
  handled: boolean;
}

export const FAKE_GRAPH_TOKEN = "fake-token";

export function startFakeGraph(
  behaviour: (req: FakeRequest) => FakeAction = () => ({ kind: "accept" }),
): FakeGraph {
  let decide = behaviour;
  const accepted: AcceptedMessage[] = [];
  const requests: FakeRequest[] = [];
  const sockets = new Set<Socket<ConnState>>();
  const files = new Map<string, FakeMedia>();
  const uploads: Array<{ id: string; size: number }> = [];
  let base = "";
  let counter = 0;

  const respond = (
    socket: Socket<ConnState>,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    const raw = body instanceof Uint8Array ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
    const head = [
      `HTTP/1.1 ${status} ${status === 200 ? "OK" : "Error"}`,
      ...(body instanceof Uint8Array ? [] : ["content-type: application/json"]),
      `content-length: ${raw.byteLength}`,
      "connection: close",
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ].join("\r\n");
    socket.write(Buffer.concat([Buffer.from(`${head}\r\n\r\n`), raw]));
    socket.end();
  };

  const act = async (socket: Socket<ConnState>, req: FakeRequest, action: FakeAction): Promise<void> => {
    switch (action.kind) {
      case "slow":
        await Bun.sleep(action.ms);
        return act(socket, req, action.next);
      case "reset":
        socket.terminate();
        return;
      case "error":
        respond(
          socket,
          action.status,
          {
            error: {
              message: action.message ?? `fake error ${action.status}`,
              type: "OAuthException",
              code: action.code,
            },
          },
          action.retryAfterS !== undefined ? { "retry-after": String(action.retryAfterS) } : {},
        );
        return;
      case "accept": {
        if (req.method === "GET") return serveMedia(socket, req);
        if (req.path.endsWith("/media")) {
          const id = `uploaded.${uploads.length + 1}`;
          uploads.push({ id, size: req.size });
          respond(socket, 200, { id });
          return;
        }
        const typed = req.body?.type ? (req.body[req.body.type] as { id?: string } | undefined) : undefined;
        const wamid = `wamid.fake.${++counter}.${crypto.randomUUID()}`;
        accepted.push({
          wamid,
          to: req.body?.to ?? "",
          text: req.body?.text?.body,
          type: req.body?.type,
          mediaId: typed?.id,
          receivedAt: req.receivedAt,
          at: Date.now(),
        });
        respond(socket, 200, { messaging_product: "whatsapp", messages: [{ id: wamid }] });
        return;
      }
    }
  };

  const serveMedia = (socket: Socket<ConnState>, req: FakeRequest) => {
    if (req.authorization !== `Bearer ${FAKE_GRAPH_TOKEN}`)
      return respond(socket, 401, { error: { message: "Invalid OAuth access token", code: 190 } });
    const download = /\/download\/([^/?]+)$/.exec(req.path);
    const id = download?.[1] ?? /\/([^/?]+)$/.exec(req.path)?.[1] ?? "";
    const file = files.get(decodeURIComponent(id));
    if (!file) return respond(socket, 404, { error: { message: "Unknown media", code: 100 } });
    if (download) return respond(socket, 200, file.bytes, { "content-type": file.mimeType });
    respond(socket, 200, {
      messaging_product: "whatsapp",
      id,
      url: `${base}/download/${id}`,
      mime_type: file.mimeType,
      file_size: file.declaredSize ?? file.bytes.byteLength,
    });
  };

  const handle = (socket: Socket<ConnState>) => {
    const { buffer } = socket.data;
    const end = buffer.indexOf("\r\n\r\n");
    if (end < 0 || socket.data.handled) return;
    const head = buffer.subarray(0, end).toString("latin1").split("\r\n");
    const headers = new Map<string, string>();
    for (const line of head.slice(1)) {
      const at = line.indexOf(":");
      if (at > 0) headers.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
    }
    const length = Number(headers.get("content-length") ?? "0");
    if (buffer.length < end + 4 + length) return;
    socket.data.handled = true;
    let body: FakeRequest["body"] = null;
    try {
      body = JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString("utf8"));
    } catch {
      body = null;
    }
    const req: FakeRequest = {
      method: head[0]?.split(" ")[0] ?? "",
      n: requests.length + 1,
      receivedAt: Date.now(),
      path: head[0]?.split(" ")[1] ?? "",
      authorization: headers.get("authorization"),
      body,
      size: length,
    };
    requests.push(req);
    void act(socket, req, decide(req)).catch(() => socket.terminate());
  };

  const listener: TCPSocketListener<ConnState> = Bun.listen<ConnState>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { buffer: Buffer.alloc(0), handled: false };
        sockets.add(socket);
      },
      data(socket, chunk) {
        socket.data.buffer = Buffer.concat([socket.data.buffer, chunk]);
        handle(socket);
      },
      close(socket) {
        sockets.delete(socket);
      },
      error(socket) {
        sockets.delete(socket);
      },
    },
  });

  base = `http://127.0.0.1:${listener.port}/v21.0`;
  return {
    url: base,
    accepted,
    requests,
    uploads,
    addMedia(id, media) {
      files.set(id, media);
    },
    setBehaviour(next) {
      decide = next;
    },
    close() {
      for (const s of sockets) s.terminate();
      listener.stop(true);
    },
  };
}
