/** The stock socket.io-client, connected with bounded waits and never reconnecting by surprise. */
import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import { WAIT_MS, withTimeout } from "./wait.ts";

export type StockSocket = Socket;

/** Connects and resolves once connected; rejects with the connect_error (message + data) on refusal. */
export async function connectStock(
  url: string,
  options: Partial<ManagerOptions & SocketOptions> = {},
  ms = WAIT_MS,
): Promise<Socket> {
  const socket = io(url, {
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
    timeout: ms,
    ...options,
  });
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("connect_error", (err) => reject(err));
      }),
      "stock client connect",
      ms,
    );
  } catch (err) {
    socket.close();
    throw err;
  }
  return socket;
}

/** The connect_error a refused handshake gets (message and data). */
export async function refusal(
  url: string,
  options: Partial<ManagerOptions & SocketOptions> = {},
): Promise<{ message: string; data: unknown }> {
  const socket = io(url, { transports: ["websocket"], forceNew: true, reconnection: false, ...options });
  try {
    return await withTimeout(
      new Promise((resolve, reject) => {
        socket.once("connect", () => reject(new Error("the handshake was accepted")));
        socket.once("connect_error", (err: Error & { data?: unknown }) =>
          resolve({ message: err.message, data: err.data }),
        );
      }),
      "connect_error",
    );
  } finally {
    socket.close();
  }
}

/** The arguments of the next `event`, within `ms`. */
export function nextEvent<T = unknown>(socket: Socket, event: string, ms = WAIT_MS): Promise<T> {
  return withTimeout(
    new Promise<T>((resolve) => socket.once(event, (arg: T) => resolve(arg))),
    `"${event}"`,
    ms,
  );
}

/** `emitWithAck` bounded by `ms`. */
export function ask<T = unknown>(socket: Socket, event: string, ...args: unknown[]): Promise<T> {
  return socket.timeout(WAIT_MS).emitWithAck(event, ...args) as Promise<T>;
}
