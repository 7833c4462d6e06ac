/**
 * `allowRequest` in each of its forms: engine.io's `(req, callback)`, a returned verdict, a
 * Promise; and hooks that throw or reject, which refuse the handshake and never take the server
 * down. The stock client runs against socket.io-client's own test-server hook.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { io as connectClient } from "socket.io-client";
import type { AllowRequest, ConnectionErrorEvent } from "../../../protocol/engine/index.ts";
import { Server } from "../../../protocol/index.ts";
import { get, startEngine, type TestEngine, WsClient, withTimeout } from "./helpers.ts";

async function expectRefused(res: Response, message: string) {
  expect(res.status).toBe(403);
  expect(res.headers.get("content-type")).toBe("application/json");
  expect(await res.text()).toBe(JSON.stringify({ code: 4, message }));
}

async function expectAccepted(t: TestEngine, query: Record<string, string> = {}) {
  const res = await get(t.url({ transport: "polling", ...query }));
  expect(res.status).toBe(200);
  expect((await res.text()).startsWith("0{")).toBe(true);
}

function who(req: Request): string | null {
  return new URL(req.url).searchParams.get("who");
}

describe("allowRequest(req, callback), engine.io's form", () => {
  const t = startEngine({
    allowRequest: (req, callback) => {
      const name = who(req);
      // Answered later, from a timer, as socket.io-client's test server does.
      setTimeout(() => {
        if (name === "mallory") callback("no mallories", false);
        else if (name === "trudy") callback(null, false);
        else if (name === "oscar") callback("ignored when accepted", true);
        else callback(null, true);
      }, 10);
    },
  });
  afterAll(() => t.close());

  test("callback(null, true) accepts; callback(err, true) accepts too", async () => {
    await expectAccepted(t);
    await expectAccepted(t, { who: "oscar" });
  });

  test("callback(message, false) refuses with 403 and that message; callback(null, false) with 'Forbidden'", async () => {
    await expectRefused(await get(t.url({ transport: "polling", who: "mallory" })), "no mallories");
    await expectRefused(await get(t.url({ transport: "polling", who: "trudy" })), "Forbidden");
  });

  test("guards websocket handshakes as well", async () => {
    const ws = new WsClient(t.url({ transport: "websocket", who: "mallory" }, "ws"));
    expect(await ws.opened.then(() => "open").catch(() => "refused")).toBe("refused");
    const ok = new WsClient(t.url({ transport: "websocket" }, "ws"));
    expect(((await ok.next()) as string).startsWith("0{")).toBe(true);
    ok.close();
  });
});

describe("allowRequest returning its verdict", () => {
  const t = startEngine({
    allowRequest: (req) => (who(req) === "eve" ? "no eves" : who(req) !== "mallory"),
  });
  afterAll(() => t.close());

  test("true accepts, false refuses with 'Forbidden', a string refuses with that message", async () => {
    await expectAccepted(t);
    await expectRefused(await get(t.url({ transport: "polling", who: "mallory" })), "Forbidden");
    await expectRefused(await get(t.url({ transport: "polling", who: "eve" })), "no eves");
  });
});

describe("allowRequest returning a Promise", () => {
  const t = startEngine({
    allowRequest: async (req) => {
      await Bun.sleep(5);
      return who(req) === "mallory" ? "not today" : true;
    },
  });
  afterAll(() => t.close());

  test("its resolved verdict decides", async () => {
    await expectAccepted(t);
    await expectRefused(await get(t.url({ transport: "polling", who: "mallory" })), "not today");
  });
});

describe("allowRequest that throws or rejects", () => {
  const hooks: Record<string, AllowRequest> = {
    "throws synchronously": (req) => {
      if (who(req) === "bad") throw new Error("boom");
      return true;
    },
    rejects: async (req) => {
      if (who(req) === "bad") throw new Error("boom");
      return true;
    },
    "throws in the callback form": (req, callback) => {
      if (who(req) === "bad") throw new Error("boom");
      callback(null, true);
    },
    "rejects in the callback form": async (req, callback) => {
      await Bun.sleep(1);
      if (who(req) === "bad") throw new Error("boom");
      callback(null, true);
    },
  };
  for (const [name, allowRequest] of Object.entries(hooks)) {
    test(`${name}: the handshake is refused 403 'Forbidden' (connection_error code 4), other clients go on`, async () => {
      const t = startEngine({ allowRequest });
      const errors: ConnectionErrorEvent[] = [];
      t.engine.on("connection_error", (e) => errors.push(e));
      try {
        await expectRefused(await get(t.url({ transport: "polling", who: "bad" })), "Forbidden");
        expect(errors.map((e) => e.code)).toEqual([4]);
        await expectAccepted(t);
        await expectRefused(await get(t.url({ transport: "polling", who: "bad" })), "Forbidden");
        await expectAccepted(t);
      } finally {
        await t.close();
      }
    });
  }
});

describe("the stock client against allowRequest hooks", () => {
  test("socket.io-client's own test-server hook `(req, callback) => setTimeout(() => callback(null, true), 10)` over every transport", async () => {
    const io = new Server({
      allowRequest: (_req, callback) => setTimeout(() => callback(null, true), 10),
    });
    io.on("connection", (socket) => socket.on("echo", (v: unknown, ack: (v: unknown) => void) => ack(v)));
    const port = io.listen(0, "127.0.0.1").port;
    try {
      for (const transports of [["polling"], ["websocket"], ["polling", "websocket"]] as const) {
        const client = connectClient(`http://127.0.0.1:${port}`, {
          forceNew: true,
          reconnection: false,
          transports: [...transports],
        });
        try {
          await withTimeout(new Promise((r) => client.once("connect", () => r(null))), "connect");
          expect(await client.timeout(3000).emitWithAck("echo", transports.join("+"))).toBe(
            transports.join("+"),
          );
        } finally {
          client.disconnect();
        }
      }
    } finally {
      await io.close();
    }
  });

  test("a hook that throws for some clients refuses them (connect_error) while the others connect and talk", async () => {
    const io = new Server({
      allowRequest: (req, callback) => {
        if (req.headers.get("x-who") === "bad") throw new TypeError("hook bug");
        callback(null, true);
      },
    });
    io.on("connection", (socket) => socket.on("echo", (v: unknown, ack: (v: unknown) => void) => ack(v)));
    const port = io.listen(0, "127.0.0.1").port;
    const url = `http://127.0.0.1:${port}`;
    const clients = [];
    try {
      for (let i = 0; i < 3; i++) {
        const bad = connectClient(url, {
          forceNew: true,
          reconnection: false,
          extraHeaders: { "x-who": "bad" },
        });
        clients.push(bad);
        const err = await withTimeout(
          new Promise<Error>((r) => bad.once("connect_error", r)),
          "connect_error of the refused client",
        );
        expect(err.message).toBe("xhr poll error");
        const good = connectClient(url, { forceNew: true, reconnection: false });
        clients.push(good);
        await withTimeout(new Promise((r) => good.once("connect", () => r(null))), "connect");
        expect(await good.timeout(3000).emitWithAck("echo", i)).toBe(i);
      }
    } finally {
      for (const c of clients) c.disconnect();
      await io.close();
    }
  });
});

describe("other engine hooks that throw", () => {
  test("a cors origin function that throws answers that request 400 and the engine serves the next ones", async () => {
    const t = startEngine({
      cors: {
        origin: (origin) => {
          if (origin === "https://bug.example") throw new Error("origin hook bug");
          return true;
        },
      },
    });
    try {
      const bad = await get(t.url({ transport: "polling" }), { headers: { Origin: "https://bug.example" } });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({ code: 3, message: "Bad request" });
      await expectAccepted(t);
      const ok = await get(t.url({ transport: "polling" }), { headers: { Origin: "https://fine.example" } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get("access-control-allow-origin")).toBe("https://fine.example");
    } finally {
      await t.close();
    }
  });
});
