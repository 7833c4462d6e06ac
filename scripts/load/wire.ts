/**
 * The few Engine.IO v4 / Socket.IO v5 text packets the load generator speaks, written and read
 * by hand: a generic parser would cost more than the server under test on the hot paths.
 *
 * Engine.IO: 0 open, 1 close, 2 ping, 3 pong, 4 message, 6 noop. A Socket.IO packet rides inside
 * an Engine.IO message, so a Socket.IO EVENT on namespace "/" reads `42[...]`, an ACK `43<id>[...]`,
 * CONNECT `40`, its answer `40{"sid":...}`, CONNECT_ERROR `44{...}`.
 */

export const EIO_CLOSE = "1";
export const EIO_PING = "2";
export const EIO_PONG = "3";

/** Engine.IO message + Socket.IO CONNECT on the main namespace. */
export const SIO_CONNECT = "40";
/** Engine.IO record separator between packets of one polling payload. */
export const RECORD_SEPARATOR = "\x1e";

/** Character codes of the packet-type digits the hot path tests without allocating. */
export const CH_0 = 48;
export const CH_2 = 50;
export const CH_3 = 51;
export const CH_4 = 52;

/** `42["event",...args]`, or `42<id>[...]` when an ack is requested. */
export function encodeEvent(event: string, args: readonly unknown[], ackId?: number): string {
  const body = JSON.stringify([event, ...args]);
  return ackId === undefined ? `42${body}` : `42${ackId}${body}`;
}

/** The CONNECT packet, with the handshake `auth` payload when there is one. */
export function encodeConnect(auth?: Record<string, unknown>): string {
  return auth ? `${SIO_CONNECT}${JSON.stringify(auth)}` : SIO_CONNECT;
}

/** The arguments of an ACK packet (`43<id>[...args]`). */
export function ackArgs(raw: string): unknown[] {
  return JSON.parse(raw.slice(raw.indexOf("["))) as unknown[];
}
