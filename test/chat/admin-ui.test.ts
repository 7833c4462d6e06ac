/**
 * The chat server with ADMIN_UI=true: socket.io's official admin UI (instrument()) on its realtime
 * server behind basic auth; off by default; refused without credentials in production.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { io as connectClient, type Socket } from "socket.io-client";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { backends, SETUP_TIMEOUT_MS } from "../db/backends.ts";
import { type Harness, startHarness, WAIT_MS } from "./harness.ts";

const USERNAME = "ops";
const PASSWORD = "admin-ui password";

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

function waitFor<T>(socket: Socket, event: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), WAIT_MS);
    socket.once(event, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

describe("admin UI configuration", () => {
  const hash = "$2b$04$.5xfrxusoXa82wyInwIs...W8InTJVfus2OVnjaEXycxoSgrN9bUm";

  test("is off unless ADMIN_UI=true", () => {
    expect(loadConfig({}).adminUi).toBeNull();
    expect(loadConfig({ ADMIN_UI_USERNAME: "x", ADMIN_UI_PASSWORD_HASH: hash }).adminUi).toBeNull();
  });

  test("takes credentials, mode, namespace and readonly with documented defaults", () => {
    expect(
      loadConfig({ ADMIN_UI: "true", ADMIN_UI_USERNAME: "ops", ADMIN_UI_PASSWORD_HASH: hash }).adminUi,
    ).toEqual({
      auth: { username: "ops", passwordHash: hash },
      mode: "production",
      namespace: "/admin",
      readonly: false,
    });
  });

  test("is refused in production without credentials, and a plain password is refused anywhere", () => {
    const prod = { NODE_ENV: "production", JWT_SECRET: "x".repeat(40), ADMIN_UI: "true" };
    expect(problems(prod)).toEqual([
      "ADMIN_UI=true requires ADMIN_UI_USERNAME and ADMIN_UI_PASSWORD_HASH in production",
    ]);
    expect(problems({ ...prod, ADMIN_UI_USERNAME: "ops", ADMIN_UI_PASSWORD_HASH: hash })).toEqual([]);
    expect(
      problems({ ADMIN_UI: "true", ADMIN_UI_USERNAME: "ops", ADMIN_UI_PASSWORD_HASH: "hunter2" }),
    ).toEqual(["ADMIN_UI_PASSWORD_HASH must be a bcrypt hash ($2b$10$…), not a password"]);
    expect(problems({ ADMIN_UI: "true", ADMIN_UI_USERNAME: "ops" })).toEqual([
      "ADMIN_UI_USERNAME and ADMIN_UI_PASSWORD_HASH go together: set both or neither",
    ]);
    expect(problems({ ADMIN_UI: "true", ADMIN_UI_NAMESPACE: "admin" })).toHaveLength(1);
  });

  test("development without credentials is allowed (no authentication)", () => {
    expect(loadConfig({ ADMIN_UI: "true" }).adminUi?.auth).toBeNull();
  });
});

const backend = (await backends())[0]!;

describe("the chat server with ADMIN_UI=true", () => {
  let h: Harness;
  const sockets: Socket[] = [];

  function admin(auth: Record<string, string>): Socket {
    const socket = connectClient(`${h.url}/admin`, { forceNew: true, reconnection: false, auth });
    sockets.push(socket);
    return socket;
  }

  beforeAll(async () => {
    h = await startHarness(backend, {
      ADMIN_UI: "true",
      ADMIN_UI_USERNAME: USERNAME,
      ADMIN_UI_PASSWORD_HASH: await Bun.password.hash(PASSWORD, { algorithm: "bcrypt", cost: 4 }),
      ADMIN_UI_MODE: "development",
    });
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await h?.close();
  }, SETUP_TIMEOUT_MS);

  test("wrong credentials are refused", async () => {
    const err = await waitFor<Error>(admin({ username: USERNAME, password: "wrong" }), "connect_error");
    expect(err.message).toBe("invalid credentials");
  });

  test("the admin sees chat sockets, server stats, and can disconnect a socket", async () => {
    const chat = await h.connect(await h.token(h.fx.agent));
    const ui = admin({ username: USERNAME, password: PASSWORD });
    const listed = waitFor<{ id: string; nsp: string; rooms: string[] }[]>(ui, "all_sockets");
    const stats = waitFor<{ clientsCount: number }>(ui, "server_stats");
    const mine = (await listed).find((s) => s.id === chat.id);
    expect(mine?.nsp).toBe("/");
    expect(mine?.rooms).toContain(`user:${h.fx.agent.id}`);
    expect((await stats).clientsCount).toBeGreaterThanOrEqual(2);
    const gone = new Promise<string>((resolve) => chat.once("disconnect", resolve));
    ui.emit("_disconnect", "/", false, chat.id);
    expect(await gone).toBe("io server disconnect");
  });
});

describe("the chat server without ADMIN_UI", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(backend, {});
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => h?.close(), SETUP_TIMEOUT_MS);

  test("has no /admin namespace", async () => {
    const socket = connectClient(`${h.url}/admin`, { forceNew: true, reconnection: false });
    try {
      const err = await waitFor<Error>(socket, "connect_error");
      expect(err.message).toBe("Invalid namespace");
    } finally {
      socket.disconnect();
    }
  });
});

describe("docs/admin-ui.md", () => {
  test("documents exactly the ADMIN_UI_* variables src/config.ts reads", async () => {
    const doc = await Bun.file(new URL("../../docs/admin-ui.md", import.meta.url)).text();
    const source = await Bun.file(new URL("../../src/config.ts", import.meta.url)).text();
    const names = (text: string) => [...new Set(text.match(/\bADMIN_UI(?:_[A-Z]+)*\b/g))].sort();
    expect(names(doc)).toEqual(names(source));
  });
});
