/**
 * Presence: online while a connection lives anywhere in the cluster, away when set, offline when
 * the last connection is gone (also when its node is killed with SIGKILL: within 15 s), announced to
 * the organization and listed by GET /api/v1/presence; who watches a conversation goes to its room.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { io as connectClient } from "socket.io-client";
import type { RunningServer } from "../../src/app.ts";
import type { PresenceList } from "../../src/shared/api.ts";
import type { PresenceEvent } from "../../src/shared/events.ts";
import { freePort, uniqueKey, within } from "../cluster/support.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { hasRedis, TEST_REDIS_URL } from "../support/services.ts";
import {
  type ChatClient,
  disconnected,
  type FixtureUser,
  harnessEnv,
  next,
  startHarness,
  startPeer,
  WAIT_MS,
} from "./harness.ts";

const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");
/** The bound for a dead node's agents. */
const DEAD_NODE_MS = 15_000;

type H = Awaited<ReturnType<typeof startHarness>>;

function helpers(getH: () => H, sockets: ChatClient[]) {
  const connectTo = async (url: string, user: FixtureUser): Promise<ChatClient> => {
    const socket: ChatClient = connectClient(url, {
      auth: { token: await getH().token(user) },
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
      timeout: WAIT_MS,
    });
    sockets.push(socket);
    const greeted = next(socket, "connected");
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    });
    await greeted;
    return socket;
  };
  const statusIn = async (url: string, user: FixtureUser) => {
    const h = getH();
    const res = await fetch(`${url}/api/v1/presence`, {
      headers: { authorization: `Bearer ${await h.token(h.fx.admin)}` },
    });
    const body = (await res.json()) as PresenceList;
    return body.data.find((e) => e.user_id === user.id)?.status;
  };
  const presenceOf = (socket: ChatClient, user: FixtureUser, status: PresenceEvent["status"], ms = WAIT_MS) =>
    next(socket, "presence:updated", ms, (e) => e.user_id === user.id && e.status === status);
  return { connectTo, statusIn, presenceOf };
}

for (const backend of await backends()) {
  describe(`presence on one node, ${backend.name}`, () => {
    let h: H;
    const sockets: ChatClient[] = [];
    const { connectTo, statusIn, presenceOf } = helpers(() => h, sockets);
    beforeAll(async () => {
      h = await startHarness(backend, { SANDBOX_STEP_MS: "60000" });
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => {
      for (const s of sockets) s.disconnect();
      await h?.close();
    }, SETUP_TIMEOUT_MS);

    test("online on the first connection, away when set (also for a new tab), offline when the last one closes", async () => {
      const observer = await connectTo(h.url, h.fx.admin);
      expect(await statusIn(h.url, h.fx.agent)).toBe("offline");
      const online = presenceOf(observer, h.fx.agent, "online");
      const tab1 = await connectTo(h.url, h.fx.agent);
      await online;
      expect(await statusIn(h.url, h.fx.agent)).toBe("online");

      const away = presenceOf(observer, h.fx.agent, "away");
      const ack = await tab1.timeout(WAIT_MS).emitWithAck("presence:set", { status: "away" });
      expect(ack).toMatchObject({ ok: true, status: "away", user_id: h.fx.agent.id });
      await away;
      const tab2 = await connectTo(h.url, h.fx.agent);
      expect(await statusIn(h.url, h.fx.agent)).toBe("away");

      const bad = await tab2.timeout(WAIT_MS).emitWithAck("presence:set", { status: "busy" as "away" });
      expect(bad).toMatchObject({ ok: false, error: { code: "invalid_payload", field: "status" } });

      const offline = presenceOf(observer, h.fx.agent, "offline");
      tab1.disconnect();
      expect(await statusIn(h.url, h.fx.agent)).toBe("away");
      tab2.disconnect();
      await offline;
      expect(await statusIn(h.url, h.fx.agent)).toBe("offline");
    });

    test("presence is for the organization only, and lists agents and admins, not viewers", async () => {
      const otherOrg = await connectTo(h.url, h.fx.adminB);
      const heard: PresenceEvent[] = [];
      otherOrg.on("presence:updated", (e) => heard.push(e));
      const observer = await connectTo(h.url, h.fx.admin);
      const online = presenceOf(observer, h.fx.agent2, "online");
      await connectTo(h.url, h.fx.agent2);
      await online;
      expect(heard.filter((e) => e.user_id === h.fx.agent2.id)).toEqual([]);
      expect(await statusIn(h.url, h.fx.viewer)).toBeUndefined();
      const res = await fetch(`${h.url}/api/v1/presence`);
      expect(res.status).toBe(401);
    });

    test("who watches a conversation goes to its room on join and leave", async () => {
      const id = h.fx.convQueue.id;
      const admin = await connectTo(h.url, h.fx.admin);
      await admin.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id });
      const agent = await connectTo(h.url, h.fx.agent);
      const both = next(admin, "conversation:viewers", WAIT_MS, (e) => e.viewers.length === 2);
      await agent.timeout(WAIT_MS).emitWithAck("join_conversation", { conversation_id: id });
      const viewers = (await both).viewers.map((v) => v.user_name).sort();
      expect(viewers).toEqual([h.fx.admin.name, h.fx.agent.name].sort());
      const one = next(admin, "conversation:viewers", WAIT_MS, (e) => e.viewers.length === 1);
      await agent.timeout(WAIT_MS).emitWithAck("leave_conversation", { conversation_id: id });
      expect((await one).viewers).toEqual([{ user_id: h.fx.admin.id, user_name: h.fx.admin.name }]);
    });
  });
}

const postgres = (await backends()).find((b) => b.name === "postgres");
const redisUp = await hasRedis();
describe.skipIf(!postgres || !redisUp)("presence across two nodes over Redis", () => {
  let h: H;
  let peer: RunningServer;
  const sockets: ChatClient[] = [];
  const { connectTo, statusIn, presenceOf } = helpers(() => h, sockets);
  const cluster = {
    SANDBOX_STEP_MS: "60000",
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: uniqueKey("presence"),
  };
  let child: ReturnType<typeof Bun.spawn> | undefined;
  beforeAll(async () => {
    h = await startHarness(postgres!, cluster);
    peer = await startPeer(h, cluster);
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    child?.kill("SIGKILL");
    await peer?.stop();
    await h?.close();
  }, SETUP_TIMEOUT_MS);

  test("connected to both nodes: online until both connections are gone", async () => {
    const observer = await connectTo(h.url, h.fx.admin);
    const online = presenceOf(observer, h.fx.agent, "online");
    const onA = await connectTo(h.url, h.fx.agent);
    await online;
    const onB = await connectTo(peer.url, h.fx.agent);
    const offline = presenceOf(observer, h.fx.agent, "offline");
    onA.disconnect();
    await disconnected(onA);
    expect(await statusIn(h.url, h.fx.agent)).toBe("online");
    expect(await statusIn(peer.url, h.fx.agent)).toBe("online");
    onB.disconnect();
    await offline;
    expect(await statusIn(h.url, h.fx.agent)).toBe("offline");
  });

  test(
    "a node killed with SIGKILL takes its agents offline within 15 s",
    async () => {
      const port = await freePort();
      child = Bun.spawn(["bun", MAIN], {
        env: {
          ...harnessEnv(h.instance, cluster),
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          PORT: String(port),
          LOG_LEVEL: "error",
          WEB_DIST_DIR: join(h.instance.env.DATA_DIR as string, "web-child"),
        },
        stdout: "pipe",
        stderr: "inherit",
      });
      let output = "";
      const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
      const banner = /running on (http:\/\/\S+)/;
      await within(
        "child node start",
        (async () => {
          while (!banner.test(output)) {
            const chunk = await reader.read();
            if (chunk.done) throw new Error(`child exited: ${output}`);
            output += new TextDecoder().decode(chunk.value);
          }
        })(),
        50_000,
      );
      reader.releaseLock();
      const childUrl = banner.exec(output)![1]!;
      const observer = await connectTo(h.url, h.fx.admin);
      const online = presenceOf(observer, h.fx.agent2, "online");
      await connectTo(childUrl, h.fx.agent2);
      await online;
      // Node A has seen the agent in one sweep (its timer would within 5 s; do not wait for it).
      await h.server.realtime.presence.sweep();
      const offline = presenceOf(observer, h.fx.agent2, "offline", DEAD_NODE_MS);
      child.kill("SIGKILL");
      await offline;
      expect(await statusIn(h.url, h.fx.agent2)).toBe("offline");
    },
    SETUP_TIMEOUT_MS,
  );
});
