/**
 * The admin UI page that @socket.io/admin-ui ships (ui/dist), served by a small static server on its
 * own origin, in headless Chromium against Switchboard running the official instrument(): it logs
 * in, lists the servers and the sockets, and does so on one node and across two nodes over Redis.
 */
import { afterAll, beforeAll, describe, test } from "bun:test";
import { join, normalize } from "node:path";
import { instrument } from "@socket.io/admin-ui";
import type { Browser, Page } from "playwright-core";
import { type Socket as ClientSocket, io as connectClient } from "socket.io-client";
import { createRedisCluster, type RedisCluster } from "../../../protocol/adapter/redis/index.ts";
import { Server, type ServerOptions } from "../../../protocol/index.ts";
import { hasChromium, launchChromium } from "../../browser/support/chromium.ts";
import { uniqueKey } from "../../cluster/support.ts";
import { hasRedis, TEST_REDIS_URL } from "../../support/services.ts";
import { next } from "../socketio/support.ts";

const UI_DIST = join(import.meta.dir, "../../../node_modules/@socket.io/admin-ui/ui/dist");
const STEP_TIMEOUT = 15_000;
const USERNAME = "admin";
const PASSWORD = "correct horse";

/** Serves the built admin UI; unknown paths get index.html (the UI routes by hash anyway). */
function serveAdminUi(): { origin: string; stop(): void } {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = normalize(decodeURIComponent(new URL(req.url).pathname)).replace(/^(\.\.[/\\])+/, "");
      const file = Bun.file(join(UI_DIST, path === "/" ? "index.html" : path));
      if (await file.exists()) return new Response(file);
      return new Response(Bun.file(join(UI_DIST, "index.html")));
    },
  });
  return { origin: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}

interface Node {
  io: Server;
  url: string;
  cluster: RedisCluster | null;
}

async function startNode(
  serverId: string,
  uiOrigin: string,
  extra: Partial<ServerOptions> = {},
): Promise<Node> {
  // The page is on another origin and connects with credentials: CORS must allow it.
  const io = new Server({ cors: { origin: uiOrigin, credentials: true }, ...extra });
  instrument(io as never, {
    auth: {
      type: "basic",
      username: USERNAME,
      password: await Bun.password.hash(PASSWORD, { algorithm: "bcrypt", cost: 4 }),
    },
    mode: "development",
    serverId,
  });
  const port = io.listen(0, "127.0.0.1").port;
  return { io, url: `http://127.0.0.1:${port}`, cluster: null };
}

async function stopNode(node: Node): Promise<void> {
  await node.io.close();
  await node.cluster?.close();
}

/** Opens the UI, fills the connection form and waits until the admin socket is connected. */
async function login(browser: Browser, uiOrigin: string, serverUrl: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  // Fonts and icons come from CDNs the test machine may not reach: not needed to work.
  await page.route(
    (url) => !url.href.startsWith(uiOrigin) && !url.href.startsWith(serverUrl),
    (route) => route.abort(),
  );
  await page.goto(`${uiOrigin}/`);
  await page.getByLabel("Server URL").fill(serverUrl);
  await page.getByLabel("Username").fill(USERNAME);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByRole("dialog").waitFor({ state: "hidden" });
  return page;
}

/** The page's admin socket reached the node (the form closing is not proof enough). */
async function adminConnected(node: Node): Promise<void> {
  const deadline = Date.now() + STEP_TIMEOUT;
  while (node.io.of("/admin").sockets.size === 0) {
    if (Date.now() > deadline) throw new Error("the admin UI never connected to /admin");
    await Bun.sleep(20);
  }
}

function stockClient(url: string): ClientSocket {
  return connectClient(url, { forceNew: true, reconnection: false, transports: ["websocket"] });
}

const runnable = hasChromium();

describe.skipIf(!runnable)("admin UI page in Chromium", () => {
  let browser: Browser;
  let ui: ReturnType<typeof serveAdminUi>;
  const clients: ClientSocket[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    ui = serveAdminUi();
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await browser?.close();
    ui?.stop();
  });

  test("on one node: it logs in, shows the server and lists the connected sockets", async () => {
    const node = await startNode("solo", ui.origin);
    try {
      const a = stockClient(node.url);
      const b = stockClient(node.url);
      clients.push(a, b);
      await Promise.all([next(a, "connect"), next(b, "connect")]);
      const page = await login(browser, ui.origin, node.url);
      await adminConnected(node);
      await page.goto(`${ui.origin}/#/servers/`);
      await page.getByText("solo", { exact: true }).first().waitFor();
      await page.goto(`${ui.origin}/#/sockets/`);
      await page.getByText(a.id!).first().waitFor();
      await page.getByText(b.id!).first().waitFor();
      await page.context().close();
    } finally {
      await stopNode(node);
    }
  });

  describe("on two nodes over Redis", () => {
    let nodes: Node[] = [];

    beforeAll(async () => {
      if (!(await hasRedis())) return;
      const key = uniqueKey("admin-ui");
      for (const id of ["node-a", "node-b"]) {
        const cluster = createRedisCluster({ url: TEST_REDIS_URL, key });
        const node = await startNode(id, ui.origin, { adapter: cluster.adapter });
        node.cluster = cluster;
        nodes.push(node);
      }
      for (const node of nodes) {
        const deadline = Date.now() + STEP_TIMEOUT;
        while (node.cluster!.link.state !== "connected" && Date.now() < deadline) await Bun.sleep(20);
      }
    });

    afterAll(async () => {
      for (const node of nodes) await stopNode(node);
      nodes = [];
    });

    test("connected to one node, it shows both servers and the sockets of both", async () => {
      if (nodes.length === 0) return;
      const [a, b] = nodes as [Node, Node];
      const onA = stockClient(a.url);
      const onB = stockClient(b.url);
      clients.push(onA, onB);
      await Promise.all([next(onA, "connect"), next(onB, "connect")]);
      const page = await login(browser, ui.origin, a.url);
      await adminConnected(a);
      await page.goto(`${ui.origin}/#/servers/`);
      // Each node's server_stats reach the admin namespace through the adapter.
      await page.getByText("node-a", { exact: true }).first().waitFor();
      await page.getByText("node-b", { exact: true }).first().waitFor();
      await page.goto(`${ui.origin}/#/sockets/`);
      // The socket list is fetched cluster-wide (fetchSockets over Redis).
      await page.getByText(onA.id!).first().waitFor();
      await page.getByText(onB.id!).first().waitFor();
      await page.context().close();
    });
  });
});
