/**
 * Polling without sticky sessions, at the HTTP level: node processes of one cluster forward a
 * polling request for a session they do not hold to its owner over the authenticated internal hop.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { ownerOfSession, sessionIdGenerator } from "../../src/cluster/node-id.ts";
import { clusterStores } from "./stores.ts";
import { SwitchboardProcess } from "./support.ts";

setDefaultTimeout(20_000);
const SECRET = "test-cluster-secret-0123456789";

const RECORD_SEPARATOR = "\x1e";

describe("session ids", () => {
  test("name their node and stay URL-safe", () => {
    const id = sessionIdGenerator("node-1")();
    expect(id).toMatch(/^node-1\.[A-Za-z0-9_-]{20}$/);
    expect(ownerOfSession(id)).toBe("node-1");
    expect(ownerOfSession("plainEngineIoId12345")).toBeNull();
  });
});

for (const store of await clusterStores())
  describe.skipIf(!store.available)(
    `forwarding of polling requests between node processes (${store.name})`,
    () => {
      let one: SwitchboardProcess;
      let two: SwitchboardProcess;
      let env: Record<string, string>;

      beforeAll(async () => {
        env = { ...(await store.env("fwd")), CLUSTER_SECRET: SECRET };
        [one, two] = await Promise.all([SwitchboardProcess.start(env), SwitchboardProcess.start(env)]);
      });
      afterAll(async () => {
        await Promise.all([one?.kill(), two?.kill()]);
        await store.dispose();
      });

      const poll = (node: SwitchboardProcess, query: string, init?: RequestInit) =>
        fetch(`${node.url}/socket.io/?EIO=4&transport=polling${query}`, {
          ...init,
          signal: AbortSignal.timeout(10_000),
        });

      test("a session opened on one node is served through the other, both ways", async () => {
        const open = await (await poll(one, "")).text();
        const { sid } = JSON.parse(open.slice(1)) as { sid: string };
        expect(ownerOfSession(sid)).toBe(one.nodeId);
        // CONNECT to "/" through node two, then read the answer through node two.
        const post = await poll(two, `&sid=${sid}`, {
          method: "POST",
          body: "40",
          headers: { "content-type": "text/plain" },
        });
        expect(post.status).toBe(200);
        expect(await post.text()).toBe("ok");
        const connected = await (await poll(two, `&sid=${sid}`)).text();
        expect(connected.split(RECORD_SEPARATOR)[0]).toMatch(/^40\{"sid":"[^"]+"\}$/);
        // An event with an ack through node two, its answer read through node one (the owner).
        await poll(two, `&sid=${sid}`, { method: "POST", body: '421["echo","hi"]' });
        const ack = await (await poll(one, `&sid=${sid}`)).text();
        expect(ack).toBe(`431[{"node":"${one.nodeId}","payload":"hi"}]`);
      });

      test("the internal listener refuses a request without the cluster secret", async () => {
        const res = await fetch(`${one.internal}/socket.io/?EIO=4&transport=polling`, {
          signal: AbortSignal.timeout(5000),
        });
        expect(res.status).toBe(403);
        const wrong = await fetch(`${one.internal}/socket.io/?EIO=4&transport=polling`, {
          headers: { "x-switchboard-cluster-secret": "not-the-secret-at-all!!" },
          signal: AbortSignal.timeout(5000),
        });
        expect(wrong.status).toBe(403);
      });

      test("a session whose node is gone is unknown, so the client starts over", async () => {
        const three = await SwitchboardProcess.start(env);
        const open = await (await poll(three, "")).text();
        const { sid } = JSON.parse(open.slice(1)) as { sid: string };
        await three.kill();
        const res = await poll(one, `&sid=${sid}`);
        expect(res.status).toBe(400);
        expect(await res.json()).toEqual({ code: 1, message: "Session ID unknown" });
      });
    },
  );
