/**
 * Logs never contain message text, tokens or passwords. The real server (src/main.ts, at the most
 * verbose level) runs on PostgreSQL with known secrets; the test logs in (right and wrong password),
 * uses the token over REST and Socket.IO, sends messages and receives a webhook, then makes every
 * message insert fail (a trigger) so the failed queries, whose parameters hold the message text, are
 * logged. The whole output is then scanned for each secret.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import postgres from "postgres";
import { io } from "socket.io-client";
import { signPayload } from "../../src/http/webhooks/signature.ts";
import { type BackendInstance, backends } from "../db/backends.ts";
import { START_TIMEOUT_MS, type StartedProcess, startProcess, stopProcess } from "../support/main-process.ts";
import { hasPostgres } from "../support/services.ts";

setDefaultTimeout(START_TIMEOUT_MS);

const SECRETS = {
  password: "Demo-Password-4f1c9e",
  wrongPassword: "Wrong-Password-77ab2d",
  jwtSecret: "jwt-secret-that-must-never-be-logged-0123456789",
  appSecret: "whatsapp-app-secret-never-logged-55",
  sentText: "Sent text that must stay private 91e2",
  failedText: "Failed text that must stay private c0d7",
  inboundText: "Inbound text that must stay private a3f8",
  failedInboundText: "Failed inbound text that must stay private 6b1e",
};
const PHONE_NUMBER_ID = "log-secrets-phone";

describe.skipIf(!(await hasPostgres()))("logs never contain message text, tokens or passwords", () => {
  let db: BackendInstance;
  let server: StartedProcess;
  let token = "";
  let conversationId = "";

  beforeAll(async () => {
    const postgresBackend = (await backends()).find((b) => b.name === "postgres");
    db = await postgresBackend!.create();
    server = await startProcess({
      ...db.env,
      LOG_LEVEL: "debug",
      DEBUG: "*",
      JWT_SECRET: SECRETS.jwtSecret,
      DEMO_PASSWORD: SECRETS.password,
      WHATSAPP_APP_SECRET: SECRETS.appSecret,
      WHATSAPP_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
    });
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    if (server) await stopProcess(server.proc);
    await db?.dispose();
  });

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}/api/v1${path}`, {
      ...init,
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...init.headers },
    });

  const login = (password: string) =>
    api("/auth/login", { method: "POST", body: JSON.stringify({ email: "admin@demo.local", password }) });

  const webhook = (id: string, text: string) => {
    const raw = JSON.stringify({
      object: "whatsapp_business_account",
      entry: [
        {
          id: "waba",
          changes: [
            {
              field: "messages",
              value: {
                messaging_product: "whatsapp",
                metadata: { phone_number_id: PHONE_NUMBER_ID },
                contacts: [{ wa_id: "15550009999", profile: { name: "Log Test" } }],
                messages: [
                  {
                    id,
                    from: "15550009999",
                    timestamp: String(Math.floor(Date.now() / 1000)),
                    type: "text",
                    text: { body: text },
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    return fetch(`${server.url}/api/v1/webhooks/whatsapp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-hub-signature-256": signPayload(SECRETS.appSecret, raw),
      },
      body: raw,
    });
  };

  test("the secrets go through the server", async () => {
    expect((await login(SECRETS.wrongPassword)).status).toBe(401);
    const ok = await login(SECRETS.password);
    expect(ok.status).toBe(200);
    token = ((await ok.json()) as { access_token: string }).access_token;
    const list = (await (await api("/conversations")).json()) as { data: { id: string }[] };
    conversationId = list.data[0]!.id;
    const sent = await api(`/conversations/${conversationId}/messages`, {
      method: "POST",
      body: JSON.stringify({ content: { text: SECRETS.sentText } }),
    });
    expect(sent.status).toBe(201);
    expect((await webhook("wamid.log-1", SECRETS.inboundText)).status).toBe(200);

    const socket = io(server.url, {
      auth: { token },
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("connected", () => resolve());
      socket.once("connect_error", reject);
    });
    socket.emit("join_conversation", { conversation_id: conversationId });
    socket.emit("typing_start", { conversation_id: conversationId });
    socket.disconnect();
    const refused = io(server.url, {
      auth: { token: `${token}x` },
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
    });
    await new Promise<void>((resolve) => refused.once("connect_error", () => resolve()));
    refused.close();
  });

  test("failed message inserts are logged without their parameters", async () => {
    const sql = postgres(db.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(`
        CREATE FUNCTION sb_refuse_messages() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'message inserts refused by the log test'; END $$;
        CREATE TRIGGER sb_refuse_messages BEFORE INSERT ON messages
          FOR EACH ROW EXECUTE FUNCTION sb_refuse_messages();`);
    } finally {
      await sql.end();
    }
    const failed = await api(`/conversations/${conversationId}/messages`, {
      method: "POST",
      body: JSON.stringify({ content: { text: SECRETS.failedText } }),
    });
    expect(failed.status).toBe(500);
    // A webhook item the database refuses is set aside alone (docs/inbound.md): 200, and nothing of it logged.
    expect((await webhook("wamid.log-2", SECRETS.failedInboundText)).status).toBe(200);
  });

  test("no secret appears in stdout or stderr, and the failures were logged", async () => {
    expect(await stopProcess(server.proc)).toBe(0);
    const logs = `${server.output}\n${server.stderr()}`;
    // Not vacuous: the failures were logged, with their parameters cut.
    expect(logs).toContain("unhandled error in HTTP handler");
    expect(logs).toContain("params: [redacted]");
    // The banner shows the demo login (demo mode, by design); the logs are everything else.
    const banner =
      /\n {2}Switchboard is running[\s\S]*?Access token[^\n]*\n[^\n]*\n/.exec(server.output)?.[0] ?? "";
    expect(banner).toContain(SECRETS.password);
    const logsWithoutBanner = logs.replace(banner, "");
    for (const [name, secret] of Object.entries(SECRETS))
      expect({ name, found: logsWithoutBanner.includes(secret) }).toEqual({ name, found: false });
    expect(logs).not.toContain(token);
  });
});
