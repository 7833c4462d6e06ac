/**
 * The client module against the real server (src/app.ts on PGlite, sandbox channel), with the demo
 * admin and agent of one organization. Access tokens live 4 s here, so every test also exercises the
 * refresh path (REST refresh + `auth:refresh`) against the real handlers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Decoder, Encoder, type Packet, PacketType } from "socket.io-parser";
import {
  type ConnectionState,
  createSession,
  type MessageSource,
  type Session,
  type SocketRequestError,
} from "../../src/client/index.ts";
import type { Message, MessageStatusEvent, UserTypingEvent } from "../../src/shared/events.ts";
import {
  type Backend,
  DEMO_ADMIN_EMAIL,
  DEMO_AGENT_EMAIL,
  DEMO_PASSWORD,
  startBackend,
} from "./support/backend.ts";
import { waitFor } from "./support/wait.ts";

const ACCESS_TOKEN_TTL_S = 4;

interface Recorder {
  messages: { message: Message; source: MessageSource }[];
  statuses: MessageStatusEvent[];
  typing: UserTypingEvent[];
  states: ConnectionState[];
}

function record(session: Session): Recorder {
  const r: Recorder = { messages: [], statuses: [], typing: [], states: [] };
  session.socket.onNewMessage((message, source) => r.messages.push({ message, source }));
  session.socket.onMessageStatus((event) => r.statuses.push(event));
  session.socket.onTyping((event) => r.typing.push(event));
  session.socket.onConnectionChange(({ state }) => r.states.push(state));
  return r;
}

/** Text of the messages the lossy decoder below throws away. */
const LOST_TEXT = "lost on the way";

/**
 * A socket.io-parser Decoder that loses every `message:new` carrying LOST_TEXT, as a broken network
 * path or a buggy proxy could: the only way to open a seq gap against the real server.
 */
class LossyDecoder extends Decoder {
  override on(event: string, listener: (...args: never[]) => void): this {
    if (event !== "decoded") return super.on(event as "decoded", listener as (packet: Packet) => void);
    return super.on("decoded", (packet: Packet) => {
      const [name, payload] = (packet.type === PacketType.EVENT ? packet.data : []) as [string?, Message?];
      if (name === "message:new" && payload?.content.text === LOST_TEXT) return;
      (listener as (packet: Packet) => void)(packet);
    });
  }
}

describe("client module against the real server", () => {
  let backend: Backend;
  let admin: Session;
  let agent: Session;
  let adminLog: Recorder;
  let agentLog: Recorder;

  const login = (email: string) =>
    createSession({
      baseUrl: backend.url,
      email,
      password: DEMO_PASSWORD,
      socketOptions: { reconnectionDelayMs: 50, reconnectionDelayMaxMs: 500 },
    });

  beforeAll(async () => {
    backend = await startBackend({ env: { ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL_S) } });
    admin = await login(DEMO_ADMIN_EMAIL);
    agent = await login(DEMO_AGENT_EMAIL);
    adminLog = record(admin);
    agentLog = record(agent);
    await Promise.all([admin.socket.connect(), agent.socket.connect()]);
  }, 60_000);

  afterAll(async () => {
    admin?.socket.close();
    agent?.socket.close();
    await backend?.stop();
  }, 30_000);

  test("both users join the demo conversation and learn its last seq", async () => {
    const [a, b] = await Promise.all([
      admin.socket.joinConversation(backend.conversationId),
      agent.socket.joinConversation(backend.conversationId),
    ]);
    expect(a.conversation_id).toBe(backend.conversationId);
    expect(b.last_seq).toBe(a.last_seq);
    expect(a.last_seq).toBeGreaterThanOrEqual(0);
    expect(admin.socket.userId).toBe(admin.user.id);
  });

  test("a message one user sends reaches the other once, and its status advances to read", async () => {
    const sent = await admin.socket.sendText(backend.conversationId, "hello from the typed client");
    await waitFor("the agent's copy", () => agentLog.messages.some((m) => m.message.id === sent.id));
    await waitFor(
      "read",
      () => agentLog.statuses.some((s) => s.message_id === sent.id && s.status === "read"),
      8000,
    );
    const statuses = agentLog.statuses.filter((s) => s.message_id === sent.id).map((s) => s.status);
    expect(statuses).toEqual(["sent", "delivered", "read"]);
    expect(agentLog.messages.filter((m) => m.message.id === sent.id)).toHaveLength(1);
    expect(adminLog.messages.filter((m) => m.message.id === sent.id)).toHaveLength(1);
  }, 15_000);

  test("typing start and stop reach the other user", async () => {
    agent.socket.startTyping(backend.conversationId);
    await waitFor("typing", () => adminLog.typing.some((t) => t.typing && t.user_id === agent.user.id));
    agent.socket.stopTyping(backend.conversationId);
    await waitFor("stopped", () => adminLog.typing.some((t) => !t.typing && t.user_id === agent.user.id));
  });

  test("after a reconnect the client re-joins and catches up missed messages through ?after=", async () => {
    agent.socket.disconnect();
    const missed = [
      await admin.socket.sendText(backend.conversationId, "missed one"),
      await admin.socket.sendText(backend.conversationId, "missed two"),
    ];
    await agent.socket.connect();
    await waitFor("both missed messages", () =>
      missed.every((m) => agentLog.messages.some((r) => r.message.id === m.id)),
    );
    for (const m of missed) {
      expect(agentLog.messages.find((r) => r.message.id === m.id)?.source).toBe("catch-up");
    }
    // Back in the room: the next message arrives live.
    const live = await admin.socket.sendText(backend.conversationId, "after the reconnect");
    await waitFor("a live message", () => agentLog.messages.some((r) => r.message.id === live.id));
    expect(agentLog.messages.find((r) => r.message.id === live.id)?.source).toBe("live");
  }, 15_000);

  test("a message:new lost on the way is noticed by the seq jump and fetched through REST", async () => {
    const lossy = await createSession({
      baseUrl: backend.url,
      email: DEMO_AGENT_EMAIL,
      password: DEMO_PASSWORD,
      socketOptions: { socketOptions: { parser: { Encoder, Decoder: LossyDecoder } } },
    });
    const log = record(lossy);
    try {
      await lossy.socket.connect();
      await lossy.socket.joinConversation(backend.conversationId);
      const lost = await admin.socket.sendText(backend.conversationId, LOST_TEXT);
      const next = await admin.socket.sendText(backend.conversationId, "the one after it");
      await waitFor("both messages", () =>
        [lost, next].every((m) => log.messages.some((r) => r.message.id === m.id)),
      );
      expect(log.messages.find((r) => r.message.id === next.id)?.source).toBe("live");
      expect(log.messages.find((r) => r.message.id === lost.id)?.source).toBe("catch-up");
      expect(log.messages.filter((r) => r.message.id === lost.id)).toHaveLength(1);
    } finally {
      lossy.socket.close();
    }
  });

  test("a conversation that does not exist is refused with conversation_not_found", async () => {
    const error = (await admin.socket
      .joinConversation(crypto.randomUUID())
      .catch((e) => e)) as SocketRequestError;
    expect(error.code).toBe("conversation_not_found");
  });

  test("the connection outlives several access-token lifetimes without reconnecting", async () => {
    const id = admin.socket.id;
    const firstToken = admin.tokens.accessToken;
    const statesBefore = adminLog.states.length;
    await Bun.sleep(ACCESS_TOKEN_TTL_S * 2 * 1000 + 500);
    expect(admin.socket.isConnected()).toBe(true);
    expect(admin.socket.id).toBe(id);
    expect(adminLog.states.slice(statesBefore)).toEqual([]);
    expect(admin.tokens.accessToken).not.toBe(firstToken);
    // The refreshed token still works for REST too.
    expect((await admin.api.listConversations()).data.map((c) => c.id)).toContain(backend.conversationId);
  }, 20_000);
});
