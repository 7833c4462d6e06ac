/**
 * Websocket upgrades that land on a node that does not own the session (round-robin balancing,
 * no sticky sessions): the node relays the websocket to the owner over the internal hop. Driven at
 * the wire level so the upgrade deterministically goes to the other node: the polling handshake
 * and Socket.IO connect on node A, the upgrade probe on node B.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type Socket as ClientSocket, io as connect } from "socket.io-client";
import { RawClient } from "../protocol/socketio/raw-client.ts";
import { clusterStores } from "./stores.ts";
import { SwitchboardProcess, waitFor, within } from "./support.ts";

setDefaultTimeout(30_000);

for (const store of await clusterStores())
  describe.skipIf(!store.available)(`websocket upgrade relayed to the session's node (${store.name})`, () => {
    let a: SwitchboardProcess;
    let b: SwitchboardProcess;
    const clients: ClientSocket[] = [];

    beforeAll(async () => {
      const env = { ...(await store.env("relay")), CLUSTER_SECRET: "relay-test-cluster-secret" };
      [a, b] = await Promise.all([SwitchboardProcess.start(env), SwitchboardProcess.start(env)]);
    });
    afterAll(async () => {
      for (const c of clients) c.close();
      await Promise.all([a?.kill(), b?.kill()]);
      await store.dispose();
    });

    const engineUrl = (node: SwitchboardProcess, params: Record<string, string>, scheme = "http") =>
      `${scheme}://127.0.0.1:${node.port}/socket.io/?${new URLSearchParams({ EIO: "4", ...params })}`;

    /** A polling session on `node`, connected to Socket.IO's main namespace. */
    async function pollingSession(node: SwitchboardProcess): Promise<string> {
      const open = await (await fetch(engineUrl(node, { transport: "polling" }))).text();
      const sid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
      const post = await fetch(engineUrl(node, { transport: "polling", sid }), {
        method: "POST",
        body: "40",
      });
      expect(await post.text()).toBe("ok");
      expect(await (await fetch(engineUrl(node, { transport: "polling", sid }))).text()).toStartWith("40{");
      return sid;
    }

    /** Probes `sid`'s upgrade on `node` and completes it: the session is on this websocket after. */
    async function upgradeOn(node: SwitchboardProcess, sid: string): Promise<RawClient> {
      const ws = await RawClient.attach(engineUrl(node, { transport: "websocket", sid }, "ws"));
      ws.sendFrame("2probe");
      expect(await ws.frame()).toBe("3probe");
      ws.sendFrame("5");
      return ws;
    }

    async function statsOf(node: SwitchboardProcess) {
      const socket = connect(node.url, { transports: ["websocket"], forceNew: true, reconnection: false });
      clients.push(socket);
      const stats = (await within("stats", socket.timeout(5000).emitWithAck("stats"))) as {
        relay: { relayed: number; relayFailed: number; open: number };
      };
      socket.close();
      return stats.relay;
    }

    test("a probe on the other node upgrades the session; events, acks and broadcasts flow through the relay", async () => {
      const ws = await upgradeOn(b, await pollingSession(a));
      // The session is on the websocket now: an ack round trip answered by the owner, node A.
      ws.sendFrame('421["echo","through the relay"]');
      expect(await ws.frame()).toBe(`431[{"node":"${a.nodeId}","payload":"through the relay"}]`);

      ws.sendFrame('422["join","lobby"]');
      expect(await ws.frame()).toBe("432[]");
      // A broadcast from node B's own client crosses to A over the cluster store, then back through the relay.
      const onB = connect(b.url, { transports: ["websocket"], forceNew: true, reconnection: false });
      clients.push(onB);
      await within("client on B", onB.timeout(5000).emitWithAck("join", "lobby"));
      onB.emit("broadcast", "lobby", "news", { n: 1 });
      expect(await ws.frame()).toBe('42["news",{"n":1}]');

      const relayed = await statsOf(b);
      expect(relayed.relayed).toBeGreaterThanOrEqual(1);
      expect(relayed.open).toBe(1);
      ws.close();
      await waitFor("the relay closed with its client", async () => (await statsOf(b)).open === 0);
    });

    test("after a relayed upgrade the session's polling requests are refused (transport mismatch), as engine.io does", async () => {
      const sid = await pollingSession(a);
      const ws = await upgradeOn(b, sid);
      ws.sendFrame('423["echo",1]');
      expect(await ws.frame()).toBe(`433[{"node":"${a.nodeId}","payload":1}]`);
      for (const node of [a, b]) {
        const stale = await fetch(engineUrl(node, { transport: "polling", sid }));
        expect(stale.status).toBe(400);
      }
      ws.close();
    });

    test("an upgrade for a session of an unknown node is refused, and a relay to a dead owner closes", async () => {
      const unknown = engineUrl(b, { transport: "websocket", sid: "nosuchnode.AAAAAAAAAAAAAAAAAAAA" }, "ws");
      await expect(RawClient.attach(unknown)).rejects.toThrow("websocket refused");

      const ws = await upgradeOn(b, await pollingSession(a));
      await a.kill();
      await ws.waitClosed(10_000);
      const after = await statsOf(b);
      expect(after.open).toBe(0);
    });
  });
