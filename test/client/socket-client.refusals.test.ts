/**
 * SocketClient against refusals from the server (test/client/support/stub-server.ts): a refusal that
 * says "retry later" is retried with backoff; only a refusal no retry can fix ends the session.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { type ConnectionChange, SocketClient, type SocketRequestError } from "../../src/client/index.ts";
import { conversationRoom, type Message } from "../../src/shared/events.ts";
import { type StubServer, startStubServer } from "./support/stub-server.ts";
import { waitFor } from "./support/wait.ts";

let stub: StubServer;
const clients: SocketClient[] = [];

beforeAll(async () => {
  stub = await startStubServer();
});

// A failing test must not leave scripted refusals behind for the next one.
afterEach(() => {
  stub.refuseHandshakes(0);
  stub.refuseJoins(0, "no_answer");
});

afterAll(async () => {
  for (const client of clients) client.close();
  await stub.close();
});

function newClient(options: { ackTimeoutMs?: number } = {}) {
  const client = new SocketClient({
    ...options,
    url: stub.url,
    auth: stub.accessToken(stub.userIds[0]),
    transports: ["websocket"],
    reconnectionDelayMs: 50,
    reconnectionDelayMaxMs: 200,
  });
  clients.push(client);
  const changes: ConnectionChange[] = [];
  const messages: Message[] = [];
  const errors: string[] = [];
  client.onConnectionChange((change) => changes.push(change));
  client.onNewMessage((message) => messages.push(message));
  client.onError((error) => errors.push(error.code));
  return { client, changes, messages, errors };
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

describe("SocketClient re-join refusals", () => {
  for (const refusal of ["rate_limited", "internal_error", "no_answer"] as const) {
    test(`a re-join refused (${refusal}) is retried with backoff; the conversation stays watched and gets later messages`, async () => {
      const { client, messages, errors } = newClient({ ackTimeoutMs: 150 });
      await client.connect();
      await client.joinConversation(stub.conversationId);
      const joinsBefore = stub.joinRequests;
      stub.refuseJoins(2, refusal);
      client.dropTransport();
      // Two refused re-joins, then the one that is accepted.
      await waitFor("the third re-join", () => stub.joinRequests >= joinsBefore + 3, 3000);
      expect(client.conversations).toEqual([stub.conversationId]);
      expect(errors).toContain(refusal === "no_answer" ? "ack_timeout" : refusal);
      await waitFor("the re-joined room", () =>
        stub.io.sockets.adapter.rooms.get(conversationRoom(stub.conversationId))?.has(client.id ?? ""),
      );
      const live = stub.store(`after a ${refusal} re-join`);
      await waitFor("a live message in the re-joined room", () => messages.some((m) => m.id === live.id));
    });
  }

  test("a re-join refused as forbidden ends the watch and is not retried", async () => {
    const { client, errors } = newClient();
    await client.connect();
    await client.joinConversation(stub.conversationId);
    const joinsBefore = stub.joinRequests;
    stub.refuseJoins(1, "forbidden");
    client.dropTransport();
    await waitFor("the watch to end", () => client.conversations.length === 0);
    await Bun.sleep(400); // twice the retry ceiling
    expect(stub.joinRequests).toBe(joinsBefore + 1);
    expect(errors).toContain("forbidden");
  });

  test("a first join refused for a passing reason rejects, yet stays watched and is joined in the background", async () => {
    const { client, messages } = newClient();
    await client.connect();
    const joinsBefore = stub.joinRequests;
    stub.refuseJoins(1, "rate_limited");
    const error = (await client.joinConversation(stub.conversationId).catch((e) => e)) as SocketRequestError;
    expect(error.code).toBe("rate_limited");
    expect(client.conversations).toEqual([stub.conversationId]);
    await waitFor("the background join", () =>
      stub.io.sockets.adapter.rooms.get(conversationRoom(stub.conversationId))?.has(client.id ?? ""),
    );
    expect(stub.joinRequests).toBe(joinsBefore + 2);
    const live = stub.store("after the background join");
    await waitFor("a live message once joined", () => messages.some((m) => m.id === live.id));
  });

  test("leaveConversation cancels a pending join retry", async () => {
    const { client } = newClient();
    await client.connect();
    const joinsBefore = stub.joinRequests;
    stub.refuseJoins(1, "internal_error");
    await client.joinConversation(stub.conversationId).catch(() => {});
    await client.leaveConversation(stub.conversationId);
    await Bun.sleep(400); // twice the retry ceiling
    expect(stub.joinRequests).toBe(joinsBefore + 1);
    expect(client.conversations).toEqual([]);
  });
});
