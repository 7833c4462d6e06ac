/**
 * A scripted stand-in for the Switchboard backend, built on the official `socket.io` server (a dev
 * dependency) and node:http: the same events and REST shapes (src/shared), but with knobs the real
 * server does not have — store a message without emitting it (to open a seq gap), count REST calls,
 * issue tokens with any lifetime. The client module's reconnect/gap/refresh logic is tested against
 * it; test/client/live-server.test.ts covers the real backend.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { basename, join } from "node:path";
import { Server, type Socket } from "socket.io";
import type { Conversation, MessagesPage, TokenResponse } from "../../../src/shared/api.ts";
import {
  type ClientToServerEvents,
  conversationRoom,
  ERROR_CODES,
  type ErrorCode,
  type Message,
  type MessageStatus,
  type ServerToClientEvents,
  type SocketData,
} from "../../../src/shared/events.ts";

type StubSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export interface StubServer {
  url: string;
  organizationId: string;
  conversationId: string;
  userIds: [string, string];
  io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
  /** Every REST request as "METHOD path?query". */
  requests: string[];
  /** Tokens the server received through `auth:refresh`. */
  refreshedOverSocket: string[];
  /** An access token (unsigned JWT shape) for a user, valid for `ttlSeconds`. */
  accessToken(userId: string, ttlSeconds?: number): string;
  tokenResponse(userId: string, ttlSeconds?: number): TokenResponse;
  /** Refuses the next `count` handshakes with this CONNECT_ERROR code (as the real server's "retry later"). */
  refuseHandshakes(count: number, code?: ErrorCode): void;
  /** Handshakes refused through `refuseHandshakes` so far. */
  readonly refusedHandshakes: number;
  /**
   * Refuses the next `count` join_conversation requests with this ack error code, or leaves them
   * unanswered ("no_answer", so the client's ack times out).
   */
  refuseJoins(count: number, code: ErrorCode | "no_answer"): void;
  /** join_conversation requests received so far (answered or not). */
  readonly joinRequests: number;
  /** Lifetime in seconds of access tokens the refresh endpoint hands out. Default 900. */
  setRefreshTtl(ttlSeconds: number): void;
  /** Stores a message; emits `message:new` to the room unless `emit` is false. */
  store(text: string, options?: { emit?: boolean; direction?: Message["direction"] }): Message;
  /**
   * Moves a message's status; emits `message:status` unless `emit` is false. With `store: false` it
   * only emits, leaving the REST copy behind (as a catch-up that read the row just before the update).
   */
  setStatus(messageId: string, status: MessageStatus, options?: { emit?: boolean; store?: boolean }): void;
  close(): Promise<void>;
}

const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

function readClaims(token: string): { sub?: string; exp?: number; type?: string } | null {
  try {
    return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as { sub?: string };
  } catch {
    return null;
  }
}

export interface StubServerOptions {
  /** Serve the files of this folder (a web UI build) for GET requests outside /api. */
  staticDir?: string;
}

export async function startStubServer(options: StubServerOptions = {}): Promise<StubServer> {
  const organizationId = randomUUID();
  const conversationId = randomUUID();
  const userIds: [string, string] = [randomUUID(), randomUUID()];
  const messages: Message[] = [];
  const requests: string[] = [];
  const refreshedOverSocket: string[] = [];

  const accessToken = (userId: string, ttlSeconds = 900) =>
    `${encode({ alg: "none", typ: "JWT" })}.${encode({ sub: userId, type: "access", exp: Math.floor(Date.now() / 1000) + ttlSeconds })}.stub`;
  const tokenResponse = (userId: string, ttlSeconds = 900): TokenResponse => ({
    access_token: accessToken(userId, ttlSeconds),
    refresh_token: `refresh.${userId}.${randomUUID()}`,
    token_type: "Bearer",
    expires_in: ttlSeconds,
    refresh_expires_in: 3600,
    user: {
      id: userId,
      email: `${userId}@stub`,
      name: "Stub",
      role: "org_admin",
      organization_id: organizationId,
    },
  });
  /** The lifetime the refresh endpoint gives new access tokens (tests shorten it). */
  let refreshTtl = 900;
  /** Scripted handshake refusals still to hand out, and how many were. */
  let refusals: { left: number; code: ErrorCode } = { left: 0, code: ERROR_CODES.internalError };
  let refusedHandshakes = 0;
  let joinRefusals: { left: number; code: ErrorCode | "no_answer" } = { left: 0, code: "no_answer" };
  let joinRequests = 0;

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const authorized = (req: IncomingMessage) => {
    const claims = readClaims((req.headers.authorization ?? "").replace(/^Bearer /, ""));
    return claims?.exp !== undefined && claims.exp * 1000 > Date.now() ? claims : null;
  };

  const http = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://stub");
    if (url.pathname.startsWith("/socket.io")) return;
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    let body = "";
    for await (const chunk of req) body += chunk;
    if (req.method === "GET" && options.staticDir && !url.pathname.startsWith("/api/")) {
      const file = Bun.file(
        join(options.staticDir, url.pathname === "/" ? "index.html" : basename(url.pathname)),
      );
      if (!(await file.exists())) return send(res, 404, { error: { code: "not_found", message: "no file" } });
      res.writeHead(200, { "content-type": file.type });
      return res.end(Buffer.from(await file.arrayBuffer()));
    }
    if (req.method === "POST" && url.pathname === "/api/v1/auth/login") {
      const { email } = JSON.parse(body) as { email: string };
      const index = email.startsWith("agent") ? 1 : 0;
      const tokens = tokenResponse(userIds[index]);
      tokens.user = { ...tokens.user, email, name: email.split("@")[0] ?? email };
      return send(res, 200, tokens);
    }
    if (req.method === "POST" && url.pathname === "/api/v1/auth/refresh") {
      const { refresh_token } = JSON.parse(body) as { refresh_token: string };
      const userId = refresh_token.split(".")[1] ?? "";
      return send(res, 200, tokenResponse(userId, refreshTtl));
    }
    if (!authorized(req)) return send(res, 401, { error: { code: "unauthorized", message: "bad token" } });
    if (req.method === "GET" && url.pathname === "/api/v1/conversations") {
      const conversation: Conversation = {
        id: conversationId,
        organization_id: organizationId,
        contact: { id: randomUUID(), name: "Stub Contact", whatsapp_id: "15550001111" },
        assigned_agent_id: null,
        status: "open",
        last_message_at: messages.at(-1)?.created_at ?? null,
        last_seq: messages.length,
        created_at: new Date().toISOString(),
        service_window_expires_at: null,
      };
      return send(res, 200, { data: [conversation], next_cursor: null });
    }
    const match = /^\/api\/v1\/conversations\/([^/]+)\/messages$/.exec(url.pathname);
    if (req.method === "GET" && match?.[1] === conversationId) {
      const limit = Number(url.searchParams.get("limit") ?? 50);
      const after = url.searchParams.get("after");
      let page: MessagesPage;
      if (after !== null) {
        const rows = messages.filter((m) => m.seq > Number(after)).slice(0, limit);
        const more = messages.some((m) => m.seq > (rows.at(-1)?.seq ?? Number.MAX_SAFE_INTEGER));
        page = { data: rows, next_cursor: more ? String(rows.at(-1)?.seq) : null, order: "asc" };
      } else {
        page = { data: [...messages].reverse().slice(0, limit), next_cursor: null, order: "desc" };
      }
      return send(res, 200, page);
    }
    if (req.method === "POST" && match?.[1] === conversationId) {
      const { content } = JSON.parse(body) as { content: { text: string } };
      return send(res, 201, { message: stub.store(content.text, { direction: "outbound" }) });
    }
    send(res, 404, { error: { code: "not_found", message: "not found" } });
  });

  const io: StubServer["io"] = new Server(http, { pingInterval: 2000, pingTimeout: 2000 });
  io.use((_socket, next) => {
    if (refusals.left <= 0) return next();
    refusals.left--;
    refusedHandshakes++;
    next(
      Object.assign(new Error("authentication is unavailable; retry later"), {
        data: { code: refusals.code },
      }),
    );
  });
  io.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: string }).token ?? "";
    const claims = readClaims(token);
    if (!claims?.sub || claims.exp === undefined) {
      return next(Object.assign(new Error("invalid token"), { data: { code: ERROR_CODES.invalidToken } }));
    }
    if (claims.exp * 1000 <= Date.now()) {
      return next(Object.assign(new Error("token expired"), { data: { code: ERROR_CODES.tokenExpired } }));
    }
    socket.data = {
      user_id: claims.sub,
      organization_id: organizationId,
      role: "org_admin",
      user_name: `Stub user ${claims.sub.slice(0, 4)}`,
      token_exp: claims.exp,
    };
    next();
  });
  io.on("connection", (socket: StubSocket) => {
    let expiry: ReturnType<typeof setTimeout>;
    const armExpiry = () => {
      clearTimeout(expiry);
      expiry = setTimeout(
        () => {
          socket.emit("error", { code: ERROR_CODES.tokenExpired, message: "access token expired" });
          socket.disconnect(true);
        },
        socket.data.token_exp * 1000 - Date.now(),
      );
    };
    armExpiry();
    socket.on("disconnect", () => clearTimeout(expiry));
    socket.emit("connected", { message: "welcome", user_id: socket.data.user_id });
    socket.on("join_conversation", ({ conversation_id }, ack) => {
      joinRequests++;
      if (joinRefusals.left > 0) {
        joinRefusals.left--;
        if (joinRefusals.code === "no_answer") return;
        return ack?.({ ok: false, error: { code: joinRefusals.code, message: "scripted refusal" } });
      }
      if (conversation_id !== conversationId) {
        const error = { code: ERROR_CODES.conversationNotFound, message: "no such conversation" };
        socket.emit("error", error);
        return ack?.({ ok: false, error });
      }
      socket.join(conversationRoom(conversation_id));
      const payload = { conversation_id, message: "joined", last_seq: messages.length };
      socket.emit("joined_conversation", payload);
      ack?.({ ok: true, ...payload });
    });
    socket.on("leave_conversation", ({ conversation_id }, ack) => {
      socket.leave(conversationRoom(conversation_id));
      ack?.({ ok: true, conversation_id, message: "left" });
    });
    const typing =
      (typingNow: boolean) =>
      ({ conversation_id }: { conversation_id: string }) =>
        socket.to(conversationRoom(conversation_id)).emit("user_typing", {
          conversation_id,
          user_id: socket.data.user_id,
          user_name: socket.data.user_name,
          typing: typingNow,
        });
    socket.on("typing_start", typing(true));
    socket.on("typing_stop", typing(false));
    socket.on("ping", (ack) => ack?.({ ok: true, timestamp: new Date().toISOString() }));
    socket.on("auth:refresh", ({ token }, ack) => {
      const claims = readClaims(token);
      if (!claims?.exp)
        return ack?.({ ok: false, error: { code: ERROR_CODES.invalidToken, message: "bad" } });
      refreshedOverSocket.push(token);
      socket.data.token_exp = claims.exp;
      armExpiry();
      ack?.({ ok: true, expires_at: claims.exp });
    });
  });

  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;

  const stub: StubServer = {
    url: `http://127.0.0.1:${port}`,
    organizationId,
    conversationId,
    userIds,
    io,
    requests,
    refreshedOverSocket,
    accessToken,
    tokenResponse,
    refuseHandshakes: (count, code = ERROR_CODES.internalError) => {
      refusals = { left: count, code };
    },
    get refusedHandshakes() {
      return refusedHandshakes;
    },
    refuseJoins: (count, code) => {
      joinRefusals = { left: count, code };
    },
    get joinRequests() {
      return joinRequests;
    },
    setRefreshTtl: (ttl) => {
      refreshTtl = ttl;
    },
    store(text, options = {}) {
      const now = new Date().toISOString();
      const message: Message = {
        id: randomUUID(),
        conversation_id: conversationId,
        organization_id: organizationId,
        seq: messages.length + 1,
        direction: options.direction ?? "inbound",
        sender_type: options.direction === "outbound" ? "agent" : "contact",
        sender_id: null,
        message_type: "text",
        content: { text },
        status: options.direction === "outbound" ? "pending" : "delivered",
        whatsapp_message_id: null,
        error_code: null,
        error_message: null,
        created_at: now,
        sent_at: null,
        delivered_at: null,
        read_at: null,
        failed_at: null,
      };
      messages.push(message);
      if (options.emit !== false) io.to(conversationRoom(conversationId)).emit("message:new", message);
      return message;
    },
    setStatus(messageId, status, options = {}) {
      const message = messages.find((m) => m.id === messageId);
      if (!message) throw new Error(`no message ${messageId}`);
      const timestamp = new Date().toISOString();
      if (options.store !== false) {
        message.status = status;
        if (status === "read") message.read_at = timestamp;
      }
      if (options.emit !== false) {
        io.to(conversationRoom(conversationId)).emit("message:status", {
          message_id: messageId,
          conversation_id: conversationId,
          status,
          timestamp,
        });
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        io.close(() => resolve());
        http.closeAllConnections();
      }),
  };
  return stub;
}
