/**
 * The few Engine.IO v4 / Socket.IO v5 text packets the load generator speaks, written and read
 * by hand: a generic parser would cost more than the server under test on the hot paths.
 *
 * Engine.IO: 0 open, 1 close, 2 ping, 3 pong, 4 message, 6 noop. A Socket.IO packet rides inside
 * an Engine.IO message, so a Socket.IO EVENT on namespace "/" reads `42[...]`, an ACK `43<id>[...]`.
 */

export const EIO_OPEN = "0";
export const EIO_CLOSE = "1";
export const EIO_PING = "2";
export const EIO_PONG = "3";
export const EIO_NOOP = "6";

/** Engine.IO message + Socket.IO CONNECT on the main namespace. */
export const SIO_CONNECT = "40";
/** Engine.IO message + Socket.IO DISCONNECT on the main namespace. */
export const SIO_DISCONNECT = "41";
/** Engine.IO record separator between packets of one polling payload. */
export const RECORD_SEPARATOR = "\x1e";

/** Character codes of the packet-type digits the hot path tests without allocating. */
export const CH_0 = 48;
export const CH_2 = 50;
export const CH_3 = 51;
export const CH_4 = 52;

/** What a socket.io server says to a client, as the generator cares about it. */
export type ServerPacket =
  | { kind: "open"; sid: string; pingInterval: number; pingTimeout: number }
  | { kind: "connect"; sid: string }
  | { kind: "connect_error"; message: string }
  | { kind: "event"; raw: string }
  | { kind: "ack"; id: number; raw: string }
  | { kind: "ping" }
  | { kind: "close" }
  | { kind: "disconnect" }
  | { kind: "noop" }
  | { kind: "other"; raw: string };

/** Classify one Engine.IO packet (text form). Event bodies are left raw: scenarios slice them. */
export function parseServerPacket(text: string): ServerPacket {
  const eio = text.charCodeAt(0);
  if (eio === CH_4) {
    const sio = text.charCodeAt(1);
    if (sio === CH_2) return { kind: "event", raw: text };
    if (sio === CH_3) {
      const open = text.indexOf("[", 2);
      return { kind: "ack", id: Number(text.slice(2, open)), raw: text };
    }
    if (sio === CH_0) {
      const body = JSON.parse(text.slice(2) || "{}") as { sid?: string };
      return { kind: "connect", sid: body.sid ?? "" };
    }
    if (text.startsWith("44")) {
      const body = JSON.parse(text.slice(2) || "{}") as { message?: string };
      return { kind: "connect_error", message: body.message ?? "connect error" };
    }
    if (text.startsWith(SIO_DISCONNECT)) return { kind: "disconnect" };
    return { kind: "other", raw: text };
  }
  if (text === EIO_PING) return { kind: "ping" };
  if (text === EIO_NOOP) return { kind: "noop" };
  if (text === EIO_CLOSE) return { kind: "close" };
  if (eio === CH_0) {
    const open = JSON.parse(text.slice(1)) as { sid: string; pingInterval: number; pingTimeout: number };
    return { kind: "open", sid: open.sid, pingInterval: open.pingInterval, pingTimeout: open.pingTimeout };
  }
  return { kind: "other", raw: text };
}

/** `42["event",...args]`, or `42<id>[...]` when an ack is requested. */
export function encodeEvent(event: string, args: readonly unknown[], ackId?: number): string {
  const body = JSON.stringify([event, ...args]);
  return ackId === undefined ? `42${body}` : `42${ackId}${body}`;
}

/** The CONNECT packet, with the handshake `auth` payload when there is one. */
export function encodeConnect(auth?: Record<string, unknown>): string {
  return auth ? `${SIO_CONNECT}${JSON.stringify(auth)}` : SIO_CONNECT;
}

/** The arguments of an EVENT (`["event", ...args]`) or ACK (`[...args]`) packet. */
export function ackArgs(raw: string): unknown[] {
  return JSON.parse(raw.slice(raw.indexOf("["))) as unknown[];
}

export function eventArgs(raw: string): { event: string; args: unknown[] } {
  const [event, ...args] = JSON.parse(raw.slice(raw.indexOf("["))) as [string, ...unknown[]];
  return { event, args };
}
