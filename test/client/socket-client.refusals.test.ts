/**
 * SocketClient against refusals from the server (test/client/support/stub-server.ts): a refusal that
 * says "retry later" is retried with backoff; only a refusal no retry can fix ends the session.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SocketClient as Client, type ConnectionChange, type SocketClient } from "../../src/client/index.ts";
import type { Message } from "../../src/shared/events.ts";
import { type StubServer, startStubServer } from "./support/stub-server.ts";
import { waitFor } from "./support/wait.ts";

let stub: StubServer;
const clients: SocketClient[] = [];

beforeAll(async () => {
  stub = await startStubServer();
});

afterAll(async () => {
  for (const client of clients) client.close();
  await stub.close();
});

function newClient(): { client: SocketClient; changes: ConnectionChange[]; messages: Message[] } {
  const client = new Client({
    url: stub.url,
    auth: stub.accessToken(stub.userIds[0]),
    transports: ["websocket"],
    reconnectionDelayMs: 50,
    reconnectionDelayMaxMs: 200,
  });
  clients.push(client);
  const changes: ConnectionChange[] = [];
  const messages: Message[] = [];
  client.onConnectionChange((change) => changes.push(change));
  client.onNewMessage((message) => messages.push(message));
  return { client, changes, messages };
}

describe("SocketClient handshake refusals", () => {
  test("a reconnect refused with internal_error is retried until it succeeds, then re-joins", async () => {
    const { client, changes, messages } = newClient();
    await client.connect();
    await client.joinConversation(stub.conversationId);
    const refusedBefore = stub.refusedHandshakes;
    stub.refuseHandshakes(2);
    client.dropTransport();
    await waitFor("both refusals", () => stub.refusedHandshakes === refusedBefore + 2);
    await waitFor("the client to come back", () => client.state === "connected");
    expect(changes.some((c) => c.state === "reconnecting" && c.code === "internal_error")).toBe(true);
    expect(changes.map((c) => c.state)).not.toContain("unauthorized");
    const live = stub.store("after the refused reconnects");
    await waitFor("a live message in the re-joined room", () => messages.some((m) => m.id === live.id));
  });

  test("a first connect refused with internal_error resolves once the server accepts", async () => {
    const { client, changes } = newClient();
    const refusedBefore = stub.refusedHandshakes;
    stub.refuseHandshakes(1);
    await expect(client.connect()).resolves.toBeUndefined();
    expect(stub.refusedHandshakes).toBe(refusedBefore + 1);
    expect(changes.map((c) => c.state)).toEqual(["connecting", "connected"]);
  });

  test("disconnect() while a refused handshake waits for its retry ends the retries", async () => {
    const { client } = newClient();
    await client.connect();
    const refusedBefore = stub.refusedHandshakes;
    stub.refuseHandshakes(1);
    client.dropTransport();
    await waitFor("the refusal", () => stub.refusedHandshakes === refusedBefore + 1);
    client.disconnect();
    await Bun.sleep(400); // twice the retry ceiling
    expect(client.isConnected()).toBe(false);
    expect(client.state).toBe("disconnected");
  });

  test("a handshake refused for a bad signature is final: unauthorized, and no retry", async () => {
    const { client } = newClient();
    await client.connect();
    stub.refuseHandshakes(1, "invalid_signature");
    client.dropTransport();
    await waitFor("the unauthorized state", () => client.state === "unauthorized");
    // The next handshake would be accepted (the scripted refusal is spent): none is attempted.
    await Bun.sleep(400);
    expect(client.state).toBe("unauthorized");
    expect(client.isConnected()).toBe(false);
  });
});
