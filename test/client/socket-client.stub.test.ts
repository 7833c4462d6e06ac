/**
 * SocketClient behaviour against a scripted server (test/client/support/stub-server.ts), where
 * gaps, silent status changes and short-lived tokens can be produced on demand.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  ApiClient,
  ApiRequestError,
  type ConnectionState,
  type MessageSource,
  SocketClient,
  type SocketRequestError,
  TokenManager,
} from "../../src/client/index.ts";
import type { Message, MessageStatusEvent, UserTypingEvent } from "../../src/shared/events.ts";
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

interface Recorder {
  messages: { message: Message; source: MessageSource }[];
  statuses: MessageStatusEvent[];
  typing: UserTypingEvent[];
  states: ConnectionState[];
}

function record(client: SocketClient): Recorder {
  const recorder: Recorder = { messages: [], statuses: [], typing: [], states: [] };
  client.onNewMessage((message, source) => recorder.messages.push({ message, source }));
  client.onMessageStatus((event) => recorder.statuses.push(event));
  client.onTyping((event) => recorder.typing.push(event));
  client.onConnectionChange(({ state }) => recorder.states.push(state));
  return recorder;
}

/** A client with a token manager (as the web UI uses it), connected and watching the stub conversation. */
async function connectedClient(
  userIndex = 0,
  options: { ttlSeconds?: number; transports?: ("polling" | "websocket")[] } = {},
) {
  const userId = stub.userIds[userIndex]!;
  const api = new ApiClient({ baseUrl: stub.url });
  const tokens = new TokenManager({ refresher: api, tokens: stub.tokenResponse(userId, options.ttlSeconds) });
  api.setAccessToken(() => tokens.freshToken());
  const client = new SocketClient({
    url: stub.url,
    auth: tokens,
    api,
    reconnectionDelayMs: 50,
    reconnectionDelayMaxMs: 200,
    ...(options.transports ? { transports: options.transports } : {}),
  });
  clients.push(client);
  const recorder = record(client);
  await client.connect();
  await client.joinConversation(stub.conversationId);
  return { client, recorder, tokens };
}

describe("SocketClient (scripted server)", () => {
  test("a message emitted twice is delivered once", async () => {
    const { recorder } = await connectedClient();
    const message = stub.store("hello");
    stub.io.to(`conversation:${stub.conversationId}`).emit("message:new", message);
    await waitFor("the message", () => recorder.messages.some((m) => m.message.id === message.id));
    await Bun.sleep(100);
    expect(recorder.messages.filter((m) => m.message.id === message.id)).toHaveLength(1);
    expect(recorder.messages.at(-1)?.source).toBe("live");
  });

  test("a jump in seq fetches the missing messages through ?after=", async () => {
    const { recorder } = await connectedClient(0, { transports: ["websocket"] });
    const silent1 = stub.store("missed 1", { emit: false });
    const silent2 = stub.store("missed 2", { emit: false });
    const live = stub.store("arrives live");
    await waitFor("the two missed messages", () => recorder.messages.length >= 3);
    const bySource = Object.fromEntries(recorder.messages.map((m) => [m.message.id, m.source]));
    expect(bySource[live.id]).toBe("live");
    expect(bySource[silent1.id]).toBe("catch-up");
    expect(bySource[silent2.id]).toBe("catch-up");
    expect(stub.requests).toContain(
      `GET /api/v1/conversations/${stub.conversationId}/messages?after=${silent1.seq - 1}&limit=100`,
    );
    await Bun.sleep(100);
    expect(recorder.messages).toHaveLength(3);
  });

  test("after a reconnect it re-joins, catches up missed messages and missed status changes", async () => {
    const { client, recorder } = await connectedClient();
    const before = stub.store("before the drop", { direction: "outbound" });
    await waitFor("the first message", () => recorder.messages.length === 1);
    client.dropTransport();
    await waitFor("the drop", () => !client.isConnected());
    const missed = stub.store("while offline", { emit: false });
    stub.setStatus(before.id, "read", { emit: false });
    await waitFor("reconnection", () => client.isConnected());
    await waitFor("the missed message", () => recorder.messages.some((m) => m.message.id === missed.id));
    await waitFor("the missed status", () => recorder.statuses.some((s) => s.message_id === before.id));
    expect(recorder.messages.find((m) => m.message.id === missed.id)?.source).toBe("catch-up");
    expect(recorder.statuses.find((s) => s.message_id === before.id)?.status).toBe("read");
    expect(recorder.states).toContain("reconnecting");
    // Still in the room: a live message reaches it.
    const after = stub.store("after the reconnect");
    await waitFor("a live message after re-joining", () =>
      recorder.messages.some((m) => m.message.id === after.id),
    );
  });

  test("a status heard before its message does not make the message a duplicate when it is fetched", async () => {
    const { recorder } = await connectedClient();
    const unseen = stub.store("not pushed", { emit: false, direction: "outbound" });
    stub.setStatus(unseen.id, "delivered");
    await waitFor("the status", () => recorder.statuses.some((s) => s.message_id === unseen.id));
    stub.store("pushed, reveals the gap");
    await waitFor("the fetched message", () => recorder.messages.some((m) => m.message.id === unseen.id));
    expect(recorder.messages.find((m) => m.message.id === unseen.id)?.source).toBe("catch-up");
  });

  test("a status heard before its message follows the message when a catch-up read an older copy", async () => {
    const { recorder } = await connectedClient();
    const unseen = stub.store("not pushed", { emit: false, direction: "outbound" });
    // The status is pushed but the REST copy stays "pending": the catch-up reads the row as it was.
    stub.setStatus(unseen.id, "read", { store: false });
    await waitFor("the early status", () => recorder.statuses.some((s) => s.message_id === unseen.id));
    stub.store("pushed, reveals the gap");
    await waitFor("the fetched message", () => recorder.messages.some((m) => m.message.id === unseen.id));
    const fetched = recorder.messages.find((m) => m.message.id === unseen.id);
    expect(fetched?.source).toBe("catch-up");
    expect(fetched?.message.status).toBe("pending");
    // The read status is reported again after the message, so the app ends at "read", not "pending".
    const after = recorder.statuses.filter((s) => s.message_id === unseen.id);
    expect(after.map((s) => s.status)).toEqual(["read", "read"]);
    expect(after[1]?.conversation_id).toBe(stub.conversationId);
  });

  test("a status heard before its message follows the message when the message comes live", async () => {
    const { recorder } = await connectedClient();
    const message = stub.store("pushed late", { emit: false, direction: "outbound" });
    const olderCopy = { ...message };
    stub.setStatus(message.id, "delivered");
    stub.io.to(`conversation:${stub.conversationId}`).emit("message:new", olderCopy);
    await waitFor("the message", () => recorder.messages.some((m) => m.message.id === message.id));
    await waitFor(
      "the repeated status",
      () => recorder.statuses.filter((s) => s.message_id === message.id).length === 2,
    );
    expect(recorder.messages.find((m) => m.message.id === message.id)?.source).toBe("live");
    expect(recorder.statuses.filter((s) => s.message_id === message.id).map((s) => s.status)).toEqual([
      "delivered",
      "delivered",
    ]);
  });

  test("status events move forward only; repeats and backward moves are dropped", async () => {
    const { recorder } = await connectedClient();
    const message = stub.store("ticks", { direction: "outbound" });
    await waitFor("the message", () => recorder.messages.some((m) => m.message.id === message.id));
    for (const status of ["sent", "sent", "delivered", "sent", "read", "delivered"] as const) {
      stub.setStatus(message.id, status);
    }
    await waitFor("read", () =>
      recorder.statuses.some((s) => s.message_id === message.id && s.status === "read"),
    );
    await Bun.sleep(100);
    expect(recorder.statuses.filter((s) => s.message_id === message.id).map((s) => s.status)).toEqual([
      "sent",
      "delivered",
      "read",
    ]);
  });

  test("typing start and stop reach the other watcher, not the typist", async () => {
    const alice = await connectedClient(0);
    const bob = await connectedClient(1);
    alice.client.startTyping(stub.conversationId);
    await waitFor("typing true", () =>
      bob.recorder.typing.some((t) => t.typing && t.user_id === stub.userIds[0]),
    );
    alice.client.stopTyping(stub.conversationId);
    await waitFor("typing false", () =>
      bob.recorder.typing.some((t) => !t.typing && t.user_id === stub.userIds[0]),
    );
    expect(alice.recorder.typing.filter((t) => t.user_id === stub.userIds[0])).toEqual([]);
  });

  test("a refused join rejects with the server's code and is not re-joined later", async () => {
    const { client } = await connectedClient();
    const error = (await client.joinConversation(crypto.randomUUID()).catch((e) => e)) as SocketRequestError;
    expect(error.code).toBe("conversation_not_found");
    expect(client.conversations).toEqual([stub.conversationId]);
  });

  test("sendText shows the sent message once although the server also pushes it", async () => {
    const { client, recorder } = await connectedClient();
    const sent = await client.sendText(stub.conversationId, "from me");
    await Bun.sleep(150);
    // Whichever copy wins the race (the POST answer or the room's push), the other one is dropped.
    const copies = recorder.messages.filter((m) => m.message.id === sent.id);
    expect(copies).toHaveLength(1);
    expect(["self", "live"]).toContain(copies[0]!.source);
  });

  test("an expiring token is refreshed over REST and handed to the live socket with auth:refresh", async () => {
    stub.setRefreshTtl(900);
    // 4 s: long enough not to be refreshed at the handshake already, refreshed ~0.8 s before exp.
    const { client, tokens } = await connectedClient(0, { ttlSeconds: 4 });
    const first = tokens.accessToken;
    const firstExp = tokens.expiresAt!;
    await waitFor("auth:refresh", () => stub.refreshedOverSocket.length > 0, 6000);
    expect(tokens.accessToken).not.toBe(first);
    expect(stub.refreshedOverSocket).toContain(tokens.accessToken);
    // Past the first token's exp, the socket is still the same live connection.
    const id = client.id;
    await Bun.sleep(Math.max(0, firstExp - Date.now()) + 300);
    expect(client.isConnected()).toBe(true);
    expect(client.id).toBe(id);
  }, 10_000);

  test("a handshake refused for an expired token refreshes and connects", async () => {
    const api = new ApiClient({ baseUrl: stub.url });
    const expired = stub.tokenResponse(stub.userIds[0], -10);
    // The token looks fresh to the client's clock check (it is not due), but the server says expired.
    const tokens = new TokenManager({
      refresher: api,
      tokens: expired,
      now: () => Date.now() - 3_600_000,
    });
    const client = new SocketClient({ url: stub.url, auth: tokens, api });
    clients.push(client);
    const recorder = record(client);
    await expect(client.connect()).resolves.toBeUndefined();
    expect(client.isConnected()).toBe(true);
    expect(recorder.states).toContain("reconnecting");
    expect(tokens.accessToken).not.toBe(expired.access_token);
  });

  test("a socket the server closes for an expired token refreshes, reconnects and re-joins", async () => {
    const api = new ApiClient({ baseUrl: stub.url });
    // The manager's clock runs an hour behind, so it does not refresh before the server's deadline.
    const tokens = new TokenManager({
      refresher: api,
      tokens: stub.tokenResponse(stub.userIds[0], 2),
      now: () => Date.now() - 3_600_000,
    });
    api.setAccessToken(() => tokens.freshToken());
    const client = new SocketClient({ url: stub.url, auth: tokens, api, reconnectionDelayMs: 50 });
    clients.push(client);
    const recorder = record(client);
    await client.connect();
    await client.joinConversation(stub.conversationId);
    const firstId = client.id;
    await waitFor("the server's disconnect", () => recorder.states.includes("reconnecting"), 4000);
    await waitFor("the reconnection", () => client.isConnected() && client.id !== firstId, 4000);
    const live = stub.store("after the refresh");
    await waitFor("a live message in the re-joined room", () =>
      recorder.messages.some((m) => m.message.id === live.id),
    );
    expect(recorder.states).not.toContain("unauthorized");
  }, 10_000);

  test("a refresh that fails for lack of a server is retried instead of signing the user out", async () => {
    const api = new ApiClient({ baseUrl: stub.url });
    let attempts = 0;
    const tokens = new TokenManager({
      refresher: {
        refresh: (refreshToken) => {
          attempts++;
          if (attempts === 1)
            return Promise.reject(new ApiRequestError(0, "network_error", "server unreachable"));
          return api.refresh(refreshToken);
        },
      },
      tokens: stub.tokenResponse(stub.userIds[0], -10),
      now: () => Date.now() - 3_600_000,
    });
    const client = new SocketClient({ url: stub.url, auth: tokens, api, reconnectionDelayMaxMs: 100 });
    clients.push(client);
    const recorder = record(client);
    await client.connect();
    expect(attempts).toBe(2);
    expect(recorder.states).not.toContain("unauthorized");
  });

  test("a bad token ends in the unauthorized state with the server's code", async () => {
    const client = new SocketClient({ url: stub.url, auth: "not-a-jwt" });
    clients.push(client);
    const error = (await client.connect().catch((e) => e)) as SocketRequestError;
    expect(error.code).toBe("invalid_token");
    expect(client.state).toBe("unauthorized");
  });

  test("ping answers the server's time", async () => {
    const { client } = await connectedClient();
    expect(Number.isNaN(Date.parse(await client.ping()))).toBe(false);
  });
});
