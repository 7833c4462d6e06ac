/**
 * Volatile packets over websocket, as engine.io 6.6 drops them: its websocket transport is not
 * writable from a send until the send completes (the next turn of the event loop), so a volatile
 * packet right after another packet to the same client is dropped, and one a turn later goes out.
 * The client counts what arrived once a regular "done" (sent a turn later, so after everything
 * before it on the same socket) arrives.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket as ClientSocket } from "socket.io-client";
import type { Socket } from "../../../protocol/index.ts";
import { Harness, next, TRANSPORTS } from "./support.ts";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A connected websocket client with its server socket, in a turn where nothing was sent to it. */
async function connected(): Promise<{ client: ClientSocket; socket: Socket; count: () => number }> {
  h = new Harness(TRANSPORTS.websocket);
  const connection = next<[Socket]>(h.io, "connection");
  const client = await h.connected();
  const [socket] = await connection;
  let received = 0;
  client.on("ev", () => received++);
  await nextTurn();
  return { client, socket, count: () => received };
}

async function countAfter(client: ClientSocket, socket: Socket, count: () => number): Promise<number> {
  await nextTurn();
  const done = next(client, "done");
  socket.emit("done");
  await done;
  return count();
}

describe("volatile over websocket", () => {
  test("a volatile emit right after a regular one is dropped", async () => {
    const { client, socket, count } = await connected();
    socket.emit("ev");
    socket.volatile.emit("ev");
    expect(await countAfter(client, socket, count)).toBe(1);
  });

  test("of two volatile emits in one turn only the first goes out, binary too", async () => {
    const { client, socket, count } = await connected();
    socket.volatile.emit("ev", new Uint8Array([1, 2, 3]));
    socket.volatile.emit("ev", new Uint8Array([1, 2, 3]));
    expect(await countAfter(client, socket, count)).toBe(1);
  });

  test("regular emits around a dropped volatile one all go out", async () => {
    const { client, socket, count } = await connected();
    socket.emit("ev");
    socket.volatile.emit("ev");
    socket.emit("ev");
    expect(await countAfter(client, socket, count)).toBe(2);
  });

  test("a volatile emit one turn after a regular one goes out", async () => {
    const { client, socket, count } = await connected();
    socket.emit("ev");
    await nextTurn();
    socket.volatile.emit("ev");
    expect(await countAfter(client, socket, count)).toBe(2);
  });

  test("a volatile broadcast right after a regular broadcast is dropped", async () => {
    const { client, socket, count } = await connected();
    h.io.emit("ev");
    h.io.volatile.emit("ev");
    expect(await countAfter(client, socket, count)).toBe(1);
  });

  test("a volatile broadcast right after a broadcast to another room still goes out", async () => {
    const { client, socket, count } = await connected();
    h.io.to("elsewhere").emit("ev");
    h.io.volatile.emit("ev");
    expect(await countAfter(client, socket, count)).toBe(1);
  });
});
