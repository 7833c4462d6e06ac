/**
 * End-to-end harness: a real server (src/app.ts startServer) on 127.0.0.1 port 0 over one backend,
 * two organizations of fixtures, tokens, and stock socket.io-client helpers with bounded waits.
 */
import { io as connectClient, type Socket } from "socket.io-client";
import type { ConversationRow } from "../../db/schema.ts";
import { contacts, conversations, organizations, users } from "../../db/schema.ts";
import { type RunningServer, type StartOptions, startServer } from "../../src/app.ts";
import { hashPassword } from "../../src/auth/password.ts";
import { loadConfig } from "../../src/config.ts";
import type {
  ClientToServerEvents,
  ConnectedEvent,
  ServerToClientEvents,
  UserRole,
} from "../../src/shared/events.ts";
import type { Backend, BackendInstance } from "../db/backends.ts";

export type ChatClient = Socket<ServerToClientEvents, ClientToServerEvents>;

export const TEST_SECRET = "test-secret-test-secret-test-secret-0123";
export const TEST_APP_SECRET = "whatsapp-app-secret";
export const TEST_VERIFY_TOKEN = "verify-me";
export const TEST_PHONE_NUMBER_ID = "pn-test-1";
export const TEST_PASSWORD = "correct horse battery staple";
export const WAIT_MS = 3000;

export interface FixtureUser {
  id: string;
  email: string;
  /** Display name: "Name of <email>", distinct from the email so tests can tell them apart. */
  name: string;
  role: UserRole;
  organization_id: string;
}

export interface Fixtures {
  orgA: string;
  orgB: string;
  admin: FixtureUser;
  agent: FixtureUser;
  agent2: FixtureUser;
  viewer: FixtureUser;
  /** Spare users for suites that exhaust per-user budgets (rate limit, connection cap). */
  spare: FixtureUser[];
  adminB: FixtureUser;
  /** Org A: assigned to `agent`. */
  convAssigned: ConversationRow;
  /** Org A: unassigned (queue). */
  convQueue: ConversationRow;
  /** Org A: assigned to `agent2`. */
  convOther: ConversationRow;
  /** Org B. */
  convB: ConversationRow;
  contactWhatsappId: string;
}

export interface Harness {
  server: RunningServer;
  url: string;
  fx: Fixtures;
  token(user: FixtureUser, ttlS?: number): Promise<string>;
  connect(
    token: string | undefined,
    opts?: { transports?: ("polling" | "websocket")[]; headers?: Record<string, string> },
  ): Promise<ChatClient>;
  /** The `connected` greeting `socket` received (listened for before the handshake completed). */
  greeting(socket: ChatClient): Promise<ConnectedEvent | undefined>;
  /** Resolves with the connect_error the server answers. */
  refused(
    auth: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<Error & { data?: { code?: string } }>;
  api(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  close(): Promise<void>;
}

/** The environment of a harness server on `instance` (a second node of it takes the same). */
export function harnessEnv(
  instance: BackendInstance,
  env: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: "test",
    PORT: "0",
    HOST: "127.0.0.1",
    JWT_SECRET: TEST_SECRET,
    SEED_DEMO: "false",
    SANDBOX_STEP_MS: "30",
    WHATSAPP_APP_SECRET: TEST_APP_SECRET,
    WHATSAPP_VERIFY_TOKEN: TEST_VERIFY_TOKEN,
    WHATSAPP_PHONE_NUMBER_ID: TEST_PHONE_NUMBER_ID,
    LOG_LEVEL: "silent",
    SHUTDOWN_TIMEOUT_MS: "3000",
    ...instance.env,
    ...env,
  };
}

/** Another server on the harness's database (a cluster node when `env` has REDIS_URL). */
export function startPeer(
  h: Harness & { instance: BackendInstance },
  env: Record<string, string> = {},
): Promise<RunningServer> {
  return startServer(loadConfig(harnessEnv(h.instance, env)), { buildWebUi: false });
}

export async function startHarness(
  backend: Backend,
  env: Record<string, string> = {},
  options: StartOptions = {},
): Promise<Harness & { instance: BackendInstance }> {
  const instance = await backend.create();
  const config = loadConfig(harnessEnv(instance, env));
  const server = await startServer(config, { buildWebUi: false, ...options });
  const fx = await createFixtures(server);
  const clients = new Set<ChatClient>();
  const greetings = new WeakMap<ChatClient, Promise<ConnectedEvent | undefined>>();

  const harness: Harness & { instance: BackendInstance } = {
    instance,
    server,
    url: server.url,
    fx,
    token: (u, ttlS) =>
      server.ctx.tokens.sign({ id: u.id, organization_id: u.organization_id, role: u.role }, "access", ttlS),
    connect(token, opts = {}) {
      const socket: ChatClient = connectClient(server.url, {
        auth: token === undefined ? {} : { token },
        transports: opts.transports ?? ["websocket"],
        forceNew: true,
        reconnection: false,
        timeout: WAIT_MS,
        ...(opts.headers ? { extraHeaders: opts.headers } : {}),
      });
      clients.add(socket);
      greetings.set(
        socket,
        next(socket, "connected").catch(() => undefined),
      );
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("connect timed out")), WAIT_MS);
        socket.once("connect", () => {
          clearTimeout(timer);
          resolve(socket);
        });
        socket.once("connect_error", (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
    },
    greeting: (socket) => greetings.get(socket) ?? Promise.resolve(undefined),
    refused(auth, headers) {
      const socket: ChatClient = connectClient(server.url, {
        auth,
        transports: ["websocket"],
        forceNew: true,
        reconnection: false,
        ...(headers ? { extraHeaders: headers } : {}),
      });
      clients.add(socket);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no connect_error")), WAIT_MS);
        socket.once("connect", () => {
          clearTimeout(timer);
          reject(new Error("connection was accepted"));
        });
        socket.once("connect_error", (err) => {
          clearTimeout(timer);
          resolve(err as Error & { data?: { code?: string } });
        });
      });
    },
    api(path, init = {}) {
      const headers = new Headers(init.headers);
      if (init.token) headers.set("authorization", `Bearer ${init.token}`);
      if (typeof init.body === "string" && !headers.has("content-type"))
        headers.set("content-type", "application/json");
      return fetch(`${server.url}${path}`, { ...init, headers, signal: AbortSignal.timeout(WAIT_MS) });
    },
    async close() {
      for (const c of clients) c.disconnect();
      await server.stop();
      await instance.dispose();
    },
  };
  return harness;
}

async function createFixtures(server: RunningServer): Promise<Fixtures> {
  const db = server.ctx.database.db;
  const passwordHash = await hashPassword(TEST_PASSWORD);
  const [orgA] = await db
    .insert(organizations)
    .values({ name: "Org A", whatsappPhoneNumberId: TEST_PHONE_NUMBER_ID })
    .returning();
  const [orgB] = await db.insert(organizations).values({ name: "Org B" }).returning();
  const mk = (org: string, email: string, role: UserRole) => ({
    organizationId: org,
    email,
    name: `Name of ${email}`,
    passwordHash,
    role,
  });
  const rows = await db
    .insert(users)
    .values([
      mk(orgA!.id, "admin@a.test", "org_admin"),
      mk(orgA!.id, "agent@a.test", "agent"),
      mk(orgA!.id, "agent2@a.test", "agent"),
      mk(orgA!.id, "viewer@a.test", "viewer"),
      mk(orgB!.id, "admin@b.test", "org_admin"),
      ...Array.from({ length: 4 }, (_, i) => mk(orgA!.id, `spare${i}@a.test`, "org_admin")),
    ])
    .returning();
  const u = rows.map((r) => ({
    id: r.id,
    email: r.email,
    name: r.name,
    role: r.role,
    organization_id: r.organizationId,
  }));
  const [cA, cB] = await db
    .insert(contacts)
    .values([
      { organizationId: orgA!.id, whatsappId: "15550000001", name: "Alice" },
      { organizationId: orgB!.id, whatsappId: "15550000002", name: "Bob" },
    ])
    .returning();
  const [cA2, cA3] = await db
    .insert(contacts)
    .values([
      { organizationId: orgA!.id, whatsappId: "15550000003", name: "Carol" },
      { organizationId: orgA!.id, whatsappId: "15550000004", name: "Dave" },
    ])
    .returning();
  const [convAssigned, convQueue, convOther, convB] = await db
    .insert(conversations)
    .values([
      { organizationId: orgA!.id, contactId: cA!.id, assignedAgentId: u[1]!.id, status: "open" },
      { organizationId: orgA!.id, contactId: cA2!.id, status: "queued" },
      { organizationId: orgA!.id, contactId: cA3!.id, assignedAgentId: u[2]!.id, status: "open" },
      { organizationId: orgB!.id, contactId: cB!.id, status: "queued" },
    ])
    .returning();
  return {
    orgA: orgA!.id,
    orgB: orgB!.id,
    admin: u[0]!,
    agent: u[1]!,
    agent2: u[2]!,
    viewer: u[3]!,
    adminB: u[4]!,
    spare: u.slice(5),
    convAssigned: convAssigned!,
    convQueue: convQueue!,
    convOther: convOther!,
    convB: convB!,
    contactWhatsappId: cA!.whatsappId,
  };
}

/** The next `event` on `socket` (rejects after `ms`). */
export function next<E extends keyof ServerToClientEvents>(
  socket: ChatClient,
  event: E,
  ms = WAIT_MS,
  filter: (...args: Parameters<ServerToClientEvents[E]>) => boolean = () => true,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener as never);
      reject(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    const listener = (...args: Parameters<ServerToClientEvents[E]>) => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      socket.off(event, listener as never);
      resolve(args[0]);
    };
    socket.on(event, listener as never);
  });
}

/** Collects every `event` on `socket` from now on. */
export function collect<E extends keyof ServerToClientEvents>(
  socket: ChatClient,
  event: E,
): Parameters<ServerToClientEvents[E]>[0][] {
  const seen: Parameters<ServerToClientEvents[E]>[0][] = [];
  socket.on(event, ((payload: Parameters<ServerToClientEvents[E]>[0]) => seen.push(payload)) as never);
  return seen;
}

/** Resolves when `socket` disconnects, with the reason. */
export function disconnected(socket: ChatClient, ms = WAIT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    if (socket.disconnected) return resolve("already disconnected");
    const timer = setTimeout(() => reject(new Error(`not disconnected within ${ms} ms`)), ms);
    socket.once("disconnect", (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
