/**
 * Every realtime event and refusal, with the stock socket.io-client against the real server, on
 * each database backend.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import type { AckResponse, JoinedConversation, PongEvent } from "../../src/shared/events.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import {
  collect,
  disconnected,
  type Harness,
  next,
  sleep,
  startHarness,
  TEST_SECRET,
  WAIT_MS,
} from "./harness.ts";

const TYPING_TIMEOUT_MS = 400;

for (const backend of await backends()) {
  describe(`realtime on ${backend.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness(backend, {
        TYPING_TIMEOUT_MS: String(TYPING_TIMEOUT_MS),
        RATE_LIMIT_BURST: "15",
        RATE_LIMIT_EVENTS_PER_SECOND: "10",
        MAX_CONVERSATIONS_PER_SOCKET: "2",
        CORS_ORIGINS: "https://app.example",
      });
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => h?.close(), SETUP_TIMEOUT_MS);

    describe("handshake", () => {
      test("a valid access token connects, sets the session and greets with `connected`", async () => {
        const socket = await h.connect(await h.token(h.fx.agent));
        expect(await h.greeting(socket)).toEqual({ message: expect.any(String), user_id: h.fx.agent.id });
        socket.disconnect();
      });

      test("a missing token is refused with code missing_token", async () => {
        const err = await h.refused({});
        expect(err.message).toContain("authentication required");
        expect(err.data?.code).toBe("missing_token");
      });

      test("a malformed token is refused with code invalid_token", async () => {
        expect((await h.refused({ token: "not-a-jwt" })).data?.code).toBe("invalid_token");
      });

      test("an expired token is refused with code token_expired", async () => {
        const now = Math.floor(Date.now() / 1000);
        const expired = await new SignJWT({ organization_id: h.fx.orgA, role: "agent", type: "access" })
          .setProtectedHeader({ alg: "HS256" })
          .setSubject(h.fx.agent.id)
          .setIssuedAt(now - 100)
          .setExpirationTime(now - 10)
          .sign(new TextEncoder().encode(TEST_SECRET));
        const err = await h.refused({ token: expired });
        expect(err.data?.code).toBe("token_expired");
        expect(err.message).toContain("expired");
      });

      test("a token signed with another key is refused with code invalid_signature", async () => {
        const forged = await new SignJWT({ organization_id: h.fx.orgA, role: "org_admin", type: "access" })
          .setProtectedHeader({ alg: "HS256" })
          .setSubject(h.fx.agent.id)
          .setIssuedAt()
          .setExpirationTime("5m")
          .sign(new TextEncoder().encode("another-secret-another-secret-another"));
        expect((await h.refused({ token: forged })).data?.code).toBe("invalid_signature");
      });

      test('an unsigned token (alg "none") is refused with code unsupported_algorithm', async () => {
        const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
        const exp = Math.floor(Date.now() / 1000) + 300;
        const none = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: h.fx.admin.id, organization_id: h.fx.orgA, role: "org_admin", type: "access", exp, iat: exp - 300 })}.`;
        expect((await h.refused({ token: none })).data?.code).toBe("unsupported_algorithm");
      });

      test("a refresh token is refused with code wrong_token_type", async () => {
        const refresh = await h.server.ctx.tokens.sign(
          { id: h.fx.agent.id, organization_id: h.fx.orgA, role: "agent" },
          "refresh",
        );
        expect((await h.refused({ token: refresh })).data?.code).toBe("wrong_token_type");
      });

      test("an Authorization: Bearer header works when auth.token is absent (polling)", async () => {
        const token = await h.token(h.fx.admin);
        const socket = await h.connect(undefined, {
          transports: ["polling"],
          headers: { authorization: `Bearer ${token}` },
        });
        expect(socket.connected).toBe(true);
        socket.disconnect();
      });
    });

    test("a browser handshake from an unlisted origin is refused; a listed origin gets credentialed CORS", async () => {
      const handshake = (origin: string) =>
        fetch(`${h.url}/socket.io/?EIO=4&transport=polling`, {
          headers: { origin },
          signal: AbortSignal.timeout(WAIT_MS),
        });
      const evil = await handshake("https://evil.example");
      expect(evil.status).toBe(403);
      const good = await handshake("https://app.example");
      expect(good.status).toBe(200);
      expect(good.headers.get("access-control-allow-origin")).toBe("https://app.example");
      expect(good.headers.get("access-control-allow-credentials")).toBe("true");
    });

    describe("conversations", () => {
      test("join_conversation answers joined_conversation and the ack; leave answers left_conversation", async () => {
        const socket = await h.connect(await h.token(h.fx.agent));
        const id = h.fx.convAssigned.id;
        const joined = next(socket, "joined_conversation");
        const ack = await socket.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id });
        expect(ack).toMatchObject({ ok: true, conversation_id: id });
        expect((await joined).conversation_id).toBe(id);
        const left = next(socket, "left_conversation");
        socket.emit("leave_conversation", { conversation_id: id });
        expect((await left).conversation_id).toBe(id);
        socket.disconnect();
      });

      test("a conversation_id that is not a UUID is refused with invalid_payload and no join", async () => {
        const socket = await h.connect(await h.token(h.fx.admin));
        const error = next(socket, "error");
        const ack = (await socket.timeout(WAIT_MS).emitWithAck("join_conversation", {
          conversation_id: "nope",
        })) as AckResponse<JoinedConversation>;
        expect(ack.ok).toBe(false);
        expect(await error).toMatchObject({
          code: "invalid_payload",
          field: "conversation_id",
          event: "join_conversation",
        });
        socket.disconnect();
      });

      test("a user of another organization cannot join, and does not hear the conversation", async () => {
        const outsider = await h.connect(await h.token(h.fx.adminB));
        const insider = await h.connect(await h.token(h.fx.admin));
        const id = h.fx.convAssigned.id;
        const error = next(outsider, "error");
        outsider.emit("join_conversation", { conversation_id: id });
        expect(await error).toMatchObject({ code: "conversation_not_found" });
        await insider.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id });
        const heardByOutsider = collect(outsider, "message:new");
        const heard = next(insider, "message:new");
        const res = await h.api(`/api/v1/conversations/${id}/messages`, {
          method: "POST",
          token: await h.token(h.fx.admin),
          body: JSON.stringify({ content: { text: "private" } }),
        });
        expect(res.status).toBe(201);
        expect((await heard).content.text).toBe("private");
        await sleep(100);
        expect(heardByOutsider).toHaveLength(0);
        outsider.disconnect();
        insider.disconnect();
      });

      test("an agent may join their own and unassigned conversations but not a colleague's", async () => {
        const socket = await h.connect(await h.token(h.fx.agent));
        const join = (id: string) =>
          socket.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id });
        expect((await join(h.fx.convQueue.id)).ok).toBe(true);
        const refused = (await join(h.fx.convOther.id)) as AckResponse<JoinedConversation>;
        expect(refused.ok === false && refused.error.code).toBe("forbidden");
        socket.disconnect();
      });

      test("a socket may join at most MAX_CONVERSATIONS_PER_SOCKET conversations", async () => {
        const socket = await h.connect(await h.token(h.fx.admin));
        const join = (id: string) =>
          socket.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id }) as Promise<
            AckResponse<JoinedConversation>
          >;
        expect((await join(h.fx.convAssigned.id)).ok).toBe(true);
        expect((await join(h.fx.convQueue.id)).ok).toBe(true);
        const third = await join(h.fx.convOther.id);
        expect(third.ok === false && third.error.code).toBe("too_many_conversations");
        socket.disconnect();
      });
    });

    describe("typing", () => {
      test("typing_start reaches the room except the sender; typing_stop ends it", async () => {
        const id = h.fx.convAssigned.id;
        const a = await h.connect(await h.token(h.fx.admin));
        const b = await h.connect(await h.token(h.fx.agent));
        await a.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id });
        await b.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id });
        const own = collect(a, "user_typing");
        const started = next(b, "user_typing");
        a.emit("typing_start", { conversation_id: id });
        // user_name is the typist's display name, read at its handshake (not the email).
        const typist = { conversation_id: id, user_id: h.fx.admin.id, user_name: h.fx.admin.name };
        expect(await started).toEqual({ ...typist, typing: true });
        const stopped = next(b, "user_typing");
        a.emit("typing_stop", { conversation_id: id });
        expect(await stopped).toEqual({ ...typist, typing: false });
        expect(own).toHaveLength(0);
        a.disconnect();
        b.disconnect();
      });

      test("typing expires by itself after TYPING_TIMEOUT_MS", async () => {
        const id = h.fx.convQueue.id;
        const a = await h.connect(await h.token(h.fx.admin));
        const b = await h.connect(await h.token(h.fx.agent));
        await a.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id });
        await b.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id });
        const events = collect(b, "user_typing");
        const t0 = Date.now();
        a.emit("typing_start", { conversation_id: id });
        const stop = await next(b, "user_typing", WAIT_MS, (e) => e.typing === false);
        expect(stop.typing).toBe(false);
        expect(Date.now() - t0).toBeGreaterThanOrEqual(TYPING_TIMEOUT_MS - 50);
        expect(events.map((e) => e.typing)).toEqual([true, false]);
        a.disconnect();
        b.disconnect();
      });

      test("typing in a conversation the socket has not joined is refused with not_joined", async () => {
        const a = await h.connect(await h.token(h.fx.admin));
        const error = next(a, "error");
        a.emit("typing_start", { conversation_id: h.fx.convAssigned.id });
        expect(await error).toMatchObject({ code: "not_joined", event: "typing_start" });
        a.disconnect();
      });
    });

    test("ping answers pong with an ISO timestamp (event and ack)", async () => {
      const socket = await h.connect(await h.token(h.fx.viewer));
      const pong = next(socket, "pong");
      const ack = (await socket.timeout(WAIT_MS).emitWithAck("ping")) as AckResponse<PongEvent>;
      const event = await pong;
      expect(new Date(event.timestamp).toISOString()).toBe(event.timestamp);
      expect(ack.ok && ack.timestamp).toBeString();
      socket.disconnect();
    });

    test("a sent message reaches the room as message:new with its seq, then message:status up to read", async () => {
      const id = h.fx.convAssigned.id;
      const socket = await h.connect(await h.token(h.fx.agent));
      await socket.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id });
      const statuses = collect(socket, "message:status");
      const created = next(socket, "message:new");
      const res = await h.api(`/api/v1/conversations/${id}/messages`, {
        method: "POST",
        token: await h.token(h.fx.agent),
        body: JSON.stringify({ content: { text: "hello from the agent" } }),
      });
      const body = (await res.json()) as { message: { id: string; seq: number; status: string } };
      expect(body.message.status).toBe("pending");
      const message = await created;
      expect(message).toMatchObject({
        id: body.message.id,
        seq: body.message.seq,
        direction: "outbound",
        status: "pending",
      });
      await next(
        socket,
        "message:status",
        WAIT_MS,
        (s) => s.message_id === message.id && s.status === "read",
      );
      expect(statuses.filter((s) => s.message_id === message.id).map((s) => s.status)).toEqual([
        "sent",
        "delivered",
        "read",
      ]);
      socket.disconnect();
    });

    for (const transports of [["polling"], ["polling", "websocket"]] as const) {
      test(`the chat flow works over ${transports.join(" → ")} (join, typing, message:new)`, async () => {
        const id = h.fx.convAssigned.id;
        const a = await h.connect(await h.token(h.fx.admin), { transports: [...transports] });
        const b = await h.connect(await h.token(h.fx.agent), { transports: [...transports] });
        expect((await a.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id })).ok).toBe(
          true,
        );
        expect((await b.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id })).ok).toBe(
          true,
        );
        const typing = next(b, "user_typing");
        a.emit("typing_start", { conversation_id: id });
        expect((await typing).typing).toBe(true);
        const arrivedA = next(
          a,
          "message:new",
          WAIT_MS,
          (m) => m.content.text === `over ${transports.join("+")}`,
        );
        const arrivedB = next(
          b,
          "message:new",
          WAIT_MS,
          (m) => m.content.text === `over ${transports.join("+")}`,
        );
        await h.api(`/api/v1/conversations/${id}/messages`, {
          method: "POST",
          token: await h.token(h.fx.admin),
          body: JSON.stringify({ content: { text: `over ${transports.join("+")}` } }),
        });
        expect((await arrivedA).seq).toBe((await arrivedB).seq);
        a.disconnect();
        b.disconnect();
      });
    }

    test("a message the channel refuses reaches the room as message:status failed with the reason", async () => {
      const id = h.fx.convAssigned.id;
      const socket = await h.connect(await h.token(h.fx.admin));
      await socket.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id });
      const failed = next(socket, "message:status", WAIT_MS, (s) => s.status === "failed");
      await h.api(`/api/v1/conversations/${id}/messages`, {
        method: "POST",
        token: await h.token(h.fx.admin),
        body: JSON.stringify({ content: { text: "please #fail" } }),
      });
      expect(await failed).toMatchObject({ status: "failed", error_code: "sandbox_failure" });
      socket.disconnect();
    });

    test("client events beyond the per-user budget are dropped with error rate_limited", async () => {
      const socket = await h.connect(await h.token(h.fx.spare[0]!));
      const pongs = collect(socket, "pong");
      const limited = next(socket, "error", WAIT_MS, (e) => e.code === "rate_limited");
      for (let i = 0; i < 40; i++) socket.emit("ping");
      expect(await limited).toMatchObject({ code: "rate_limited", event: "ping" });
      await sleep(200);
      expect(pongs.length).toBeGreaterThanOrEqual(15);
      expect(pongs.length).toBeLessThan(40);
      socket.disconnect();
    });

    test("a user's connection beyond the cap pushes out the oldest with connection_limit", async () => {
      const token = await h.token(h.fx.spare[1]!);
      const first = await h.connect(token);
      const reason = next(first, "error");
      const gone = disconnected(first);
      const others = [await h.connect(token), await h.connect(token), await h.connect(token)];
      expect(await reason).toMatchObject({ code: "connection_limit" });
      expect(await gone).toBe("io server disconnect");
      expect(others.every((s) => s.connected)).toBe(true);
      for (const s of others) s.disconnect();
    });

    test("a live socket is told token_expired and disconnected when its token expires", async () => {
      // exp is in whole seconds: a 2 s token expires 1–2 s from now, after the handshake even on a busy machine.
      const socket = await h.connect(await h.token(h.fx.spare[2]!, 2));
      const error = next(socket, "error", 5000);
      const gone = disconnected(socket, 5000);
      expect(await error).toMatchObject({ code: "token_expired" });
      expect(await gone).toBe("io server disconnect");
    });

    test("auth:refresh with a new token keeps the socket alive past the old expiry", async () => {
      const user = h.fx.spare[3]!;
      const shortLived = await h.token(user, 3);
      const oldExp = JSON.parse(Buffer.from(shortLived.split(".")[1]!, "base64url").toString()).exp as number;
      const socket = await h.connect(shortLived);
      const ack = (await socket
        .timeout(WAIT_MS)
        .emitWithAck("auth:refresh", { token: await h.token(user, 60) })) as AckResponse<{
        expires_at: number;
      }>;
      expect(ack.ok && ack.expires_at).toBeGreaterThan(Date.now() / 1000 + 30);
      await sleep(oldExp * 1000 - Date.now() + 300);
      expect(socket.connected).toBe(true);
      const refused = (await socket
        .timeout(WAIT_MS)
        .emitWithAck("auth:refresh", { token: await h.token(h.fx.admin, 60) })) as AckResponse<object>;
      expect(refused.ok === false && refused.error.code).toBe("forbidden");
      socket.disconnect();
    });
  });
}
