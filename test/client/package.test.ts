/**
 * The client module as a package: `bun run build:client` output (ESM JavaScript, .d.ts, a
 * package.json named switchboard-client) installed into a consumer project's node_modules, imported
 * by Node 20 (the `node` on the PATH) by its package name, talking to a live server: log in, connect
 * over Socket.IO, join, send, receive its own `message:new`. Its declarations type-check a consumer
 * written for Node's module resolution (nodenext), and reject a misuse.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildClientPackage, CLIENT_PACKAGE_NAME } from "../../scripts/build-client.ts";
import { ROOT, runToExit } from "../support/main-process.ts";
import { requireBinary } from "../support/services.ts";
import { type Backend, DEMO_AGENT_EMAIL, DEMO_PASSWORD, startBackend } from "./support/backend.ts";

setDefaultTimeout(60_000);
const NODE = requireBinary("node", "apt-get install nodejs (20 or newer)");

const CONSUMER_JS = `
import { createSession, typingLabel } from "${CLIENT_PACKAGE_NAME}";
const [baseUrl, email, password, conversationId] = process.argv.slice(2);
const { socket, user } = await createSession({ baseUrl, email, password });
const text = "sent by Node " + process.version;
const received = new Promise((resolve) => socket.onNewMessage((m) => m.content.text === text && resolve(m)));
await socket.connect();
await socket.joinConversation(conversationId);
await socket.sendText(conversationId, text);
const message = await received;
console.log(JSON.stringify({ node: process.version, user: user.email, text: message.content.text, seq: message.seq, label: typingLabel(["Ada"]) }));
socket.disconnect();
process.exit(0);
`;

const CONSUMER_TS = `
import { createSession, type Session, SocketClient, typingLabel } from "${CLIENT_PACKAGE_NAME}";
export async function open(baseUrl: string): Promise<Session> {
  const session = await createSession({ baseUrl, email: "a@b.c", password: "x" });
  const socket: SocketClient = session.socket;
  socket.onNewMessage((message) => message.seq.toFixed());
  return session;
}
export const label: string = typingLabel(["Ada"]);
// @ts-expect-error typingLabel takes names, not a number
typingLabel(3);
`;

describe.skipIf(NODE === null)(`${CLIENT_PACKAGE_NAME} built for Node 20, browsers and bundlers`, () => {
  let consumer: string;
  let backend: Backend;

  beforeAll(async () => {
    consumer = mkdtempSync(join(tmpdir(), "sb-client-consumer-"));
    mkdirSync(join(consumer, "node_modules"));
    await buildClientPackage(join(consumer, "node_modules", CLIENT_PACKAGE_NAME));
    // The peer dependency, as the consumer's own install would provide it.
    symlinkSync(
      join(ROOT, "node_modules", "socket.io-client"),
      join(consumer, "node_modules", "socket.io-client"),
    );
    writeFileSync(
      join(consumer, "package.json"),
      JSON.stringify({ name: "consumer", type: "module", private: true }),
    );
    writeFileSync(join(consumer, "check.mjs"), CONSUMER_JS);
    writeFileSync(join(consumer, "check.ts"), CONSUMER_TS);
    writeFileSync(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "nodenext",
          moduleResolution: "nodenext",
          target: "ES2022",
          strict: true,
          noEmit: true,
          lib: ["ES2022", "DOM"],
          types: [],
        },
        files: ["check.ts"],
      }),
    );
    backend = await startBackend();
  });

  afterAll(async () => {
    await backend?.stop();
    if (consumer) rmSync(consumer, { recursive: true, force: true });
  });

  test("node (v20+) imports it by name and talks to a live server", async () => {
    const version = await runToExit([NODE!, "--version"], {});
    expect(Number(/^v(\d+)/.exec(version.stdout)?.[1])).toBeGreaterThanOrEqual(20);
    const run = await runToExit(
      [NODE!, "check.mjs", backend.url, DEMO_AGENT_EMAIL, DEMO_PASSWORD, backend.conversationId],
      {},
      30_000,
      consumer,
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout.trim()) as {
      node: string;
      user: string;
      text: string;
      seq: number;
      label: string;
    };
    expect(result.node).toBe(version.stdout.trim());
    expect(result.user).toBe(DEMO_AGENT_EMAIL);
    expect(result.text).toBe(`sent by Node ${result.node}`);
    expect(result.seq).toBeGreaterThan(1);
    expect(result.label).toBe("Ada is typing…");
  });

  test("its declarations type-check a nodenext consumer and refuse a misuse", async () => {
    const tsc = await runToExit(
      [join(ROOT, "node_modules", ".bin", "tsc"), "-p", "tsconfig.json"],
      {},
      60_000,
      consumer,
    );
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.code).toBe(0);
  });
});
