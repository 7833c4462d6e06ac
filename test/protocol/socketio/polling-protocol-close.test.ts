/**
 * A polling client that breaks the Socket.IO protocol is closed the way engine.io closes a polling
 * session with no GET waiting: its next GET gets a noop followed by the close packet (`6␞1`), raw
 * HTTP bytes as socket.io 4.8 / engine.io 6.6 answer them.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Harness, TRANSPORTS } from "./support.ts";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

async function handshake(): Promise<string> {
  const res = await fetch(`${h.url}/socket.io/?EIO=4&transport=polling`);
  const body = await res.text();
  return JSON.parse(body.slice(1)).sid;
}

function poll(sid: string): Promise<string> {
  return fetch(`${h.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`).then((res) => res.text());
}

async function push(sid: string, body: string): Promise<void> {
  const res = await fetch(`${h.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: "POST", body });
  await res.text();
}

describe("protocol violations over polling", () => {
  test("an EVENT before any CONNECT: the next GET gets 6␞1", async () => {
    h = new Harness(TRANSPORTS.polling);
    const sid = await handshake();
    await push(sid, '42["some event"]');
    expect(await poll(sid)).toBe("6\x1e1");
  });

  test("a second CONNECT for the same namespace: the CONNECT answer, then 6␞1", async () => {
    h = new Harness(TRANSPORTS.polling);
    const sid = await handshake();
    await push(sid, "40");
    await push(sid, "40");
    expect((await poll(sid)).startsWith('40{"sid":"')).toBe(true);
    expect(await poll(sid)).toBe("6\x1e1");
  });

  test("an undecodable packet after CONNECT: the CONNECT answer, then 6␞1", async () => {
    h = new Harness(TRANSPORTS.polling);
    const sid = await handshake();
    await push(sid, "40");
    await push(sid, "4abc");
    expect((await poll(sid)).startsWith('40{"sid":"')).toBe(true);
    expect(await poll(sid)).toBe("6\x1e1");
  });
});
