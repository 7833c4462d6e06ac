/**
 * The floor: a bare `Bun.serve` websocket server that speaks ONLY the part of Engine.IO v4 /
 * Socket.IO v5 the load scenarios use, so its figures are the least any Bun implementation of the
 * protocol can cost on this machine. It is not a Socket.IO server and must never be used as one.
 *
 * What it speaks:
 *   - Engine.IO over websocket only (`/socket.io/?EIO=4&transport=websocket`, no polling, no
 *     upgrade): the open packet, ping/pong (one shared timer for all sessions, pings sent through
 *     native pub/sub; a session that did not answer the previous ping is closed), close.
 *   - Socket.IO on the main namespace only: CONNECT (auth ignored) → `40{"sid":...}`, EVENT with or
 *     without an ack id. No binary, no other namespaces, no recovery, no middleware.
 *   - The benchmark app, same behaviour as apps/switchboard.ts and apps/official.cjs:
 *       join(room, ack)      → ws.subscribe(room); ack()          (rooms are Bun's native topics)
 *       pub(room, ...args)   → server.publish(room, 42["m",...args])   (encoded once)
 *       echo(payload, ack)   → ack(payload)
 * Every event is decoded (JSON.parse) and every packet sent is encoded (JSON.stringify), as any
 * server that hands arguments to user handlers must; nothing else is done per message.
 *
 * Prints one JSON line `{"ready":true,"port":N,"pid":N}` on stdout once listening.
 * Env: PORT (default 0 = ephemeral), HOST (default 127.0.0.1).
 */
import type { ServerWebSocket } from "bun";

/** Engine.IO defaults of the reference server (ms, bytes). */
const PING_INTERVAL_MS = 25_000;
const PING_TIMEOUT_MS = 20_000;
const MAX_PAYLOAD = 1_000_000;
/** Topic every session subscribes to, so one publish pings them all. */
const PING_TOPIC = "\0eio-ping";

interface Session {
  sid: string;
  /** Answered the last ping (or none was sent yet). */
  alive: boolean;
  connected: boolean;
}

const sessions = new Set<ServerWebSocket<Session>>();

function openPacket(sid: string): string {
  return `0${JSON.stringify({ sid, upgrades: [], pingInterval: PING_INTERVAL_MS, pingTimeout: PING_TIMEOUT_MS, maxPayload: MAX_PAYLOAD })}`;
}

/** `42[<id>]["event",...]` → event name, args and ack id; null for anything else. */
function decodeEvent(text: string): { args: unknown[]; ackId: number | undefined } | null {
  const open = text.indexOf("[", 2);
  if (open < 0) return null;
  const ackId = open > 2 ? Number(text.slice(2, open)) : undefined;
  if (ackId !== undefined && !Number.isInteger(ackId)) return null;
  try {
    const args = JSON.parse(text.slice(open)) as unknown;
    return Array.isArray(args) && typeof args[0] === "string" ? { args, ackId } : null;
  } catch {
    return null;
  }
}

function onEvent(ws: ServerWebSocket<Session>, text: string): void {
  const packet = decodeEvent(text);
  if (!packet) return;
  const [event, ...args] = packet.args;
  const ack = (...reply: unknown[]) => {
    if (packet.ackId !== undefined) ws.send(`43${packet.ackId}${JSON.stringify(reply)}`);
  };
  switch (event) {
    case "join":
      if (typeof args[0] === "string") ws.subscribe(args[0]);
      ack();
      break;
    case "pub":
      if (typeof args[0] === "string")
        server.publish(args[0], `42${JSON.stringify(["m", ...args.slice(1)])}`);
      break;
    case "echo":
      ack(args[0]);
      break;
  }
}

const server = Bun.serve<Session>({
  port: Number(process.env.PORT ?? 0),
  hostname: process.env.HOST ?? "127.0.0.1",
  fetch(req, srv) {
    const url = new URL(req.url);
    if (url.pathname !== "/socket.io/" || url.searchParams.get("transport") !== "websocket") {
      return Response.json({ code: 0, message: "Transport unknown" }, { status: 400 });
    }
    const data: Session = { sid: crypto.randomUUID(), alive: true, connected: false };
    return srv.upgrade(req, { data }) ? undefined : new Response("upgrade failed", { status: 400 });
  },
  websocket: {
    maxPayloadLength: MAX_PAYLOAD,
    open(ws) {
      sessions.add(ws);
      ws.subscribe(PING_TOPIC);
      ws.send(openPacket(ws.data.sid));
    },
    message(ws, message) {
      if (typeof message !== "string") return;
      const type = message.charCodeAt(0);
      if (type === 0x33 /* 3 pong */) ws.data.alive = true;
      else if (type === 0x31 /* 1 close */) ws.close();
      else if (type === 0x34 /* 4 message */) {
        const sioType = message.charCodeAt(1);
        if (sioType === 0x32 /* 2 EVENT */ && ws.data.connected) onEvent(ws, message);
        else if (sioType === 0x30 /* 0 CONNECT */ && !ws.data.connected) {
          ws.data.connected = true;
          ws.send(`40${JSON.stringify({ sid: crypto.randomUUID() })}`);
        } else if (sioType === 0x31 /* 1 DISCONNECT */) ws.close();
      }
    },
    close(ws) {
      sessions.delete(ws);
    },
  },
});

// One timer for every session: close the ones that missed the previous ping, then ping the rest.
// (A session gets between pingInterval and twice it to answer: close enough for a floor.)
const heartbeat = setInterval(() => {
  for (const ws of sessions) {
    if (!ws.data.alive) ws.close(1000, "ping timeout");
    else ws.data.alive = false;
  }
  server.publish(PING_TOPIC, "2");
}, PING_INTERVAL_MS);

process.stdout.write(`${JSON.stringify({ ready: true, port: server.port, pid: process.pid })}\n`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    clearInterval(heartbeat);
    server.stop(true);
    process.exit(0);
  });
}
