/**
 * A fake WhatsApp Cloud API (Graph API) on 127.0.0.1: POST /{phone-number-id}/messages answers
 * what `behaviour` decides per request: accept (200 with a wamid, the message recorded), an HTTP
 * error with a Graph error body and optional Retry-After, a slow answer, or a connection reset
 * (closed without a response). A raw TCP listener, because resetting a connection on purpose is
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
  /** When the request arrived and when the 200 was written (ms since epoch). */
  receivedAt: number;
  at: number;
}

export interface FakeRequest {
  n: number;
  receivedAt: number;
  path: string;
  authorization: string | undefined;
  body: { to?: string; type?: string; text?: { body?: string } } | null;
}

export interface FakeGraph {
  /** Base URL for WHATSAPP_API_BASE_URL. */
  url: string;
  /** Every message the fake accepted (answered 200), in order. */
  accepted: AcceptedMessage[];
  /** Every request received (including refused and reset ones). */
  requests: FakeRequest[];
  /** Replaces the behaviour. */
  setBehaviour(behaviour: (req: FakeRequest) => FakeAction): void;
  close(): void;
}

interface ConnState {
  buffer: Buffer;
  handled: boolean;
}

export function startFakeGraph(
  behaviour: (req: FakeRequest) => FakeAction = () => ({ kind: "accept" }),
): FakeGraph {
  let decide = behaviour;
  const accepted: AcceptedMessage[] = [];
  const requests: FakeRequest[] = [];
  const sockets = new Set<Socket<ConnState>>();
  let counter = 0;

  const respond = (
    socket: Socket<ConnState>,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    const text = JSON.stringify(body);
    const head = [
      `HTTP/1.1 ${status} ${status === 200 ? "OK" : "Error"}`,
      "content-type: application/json",
      `content-length: ${Buffer.byteLength(text)}`,
      "connection: close",
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ].join("\r\n");
    socket.write(`${head}\r\n\r\n${text}`);
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
        const wamid = `wamid.fake.${++counter}.${crypto.randomUUID()}`;
        accepted.push({
          wamid,
          to: req.body?.to ?? "",
          text: req.body?.text?.body,
          receivedAt: req.receivedAt,
          at: Date.now(),
        });
        respond(socket, 200, { messaging_product: "whatsapp", messages: [{ id: wamid }] });
        return;
      }
    }
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
      n: requests.length + 1,
      receivedAt: Date.now(),
      path: head[0]?.split(" ")[1] ?? "",
      authorization: headers.get("authorization"),
      body,
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

  return {
    url: `http://127.0.0.1:${listener.port}/v21.0`,
    accepted,
    requests,
    setBehaviour(next) {
      decide = next;
    },
    close() {
      for (const s of sockets) s.terminate();
      listener.stop(true);
    },
  };
}
