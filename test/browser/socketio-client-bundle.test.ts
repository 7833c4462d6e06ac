/**
 * The browser loads the client bundle from Switchboard itself (`serveClient`): a page served by the
 * app fallback includes /socket.io/socket.io.min.js, connects over polling then websocket, and gets
 * an ack; the msgpack bundle does the same against a server with the msgpack `parser`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import * as msgpackParser from "socket.io-msgpack-parser";
import { type Parser, Server, type ServerOptions } from "../../protocol/index.ts";
import { hasChromium, launchChromium } from "./support/chromium.ts";

const STEP_TIMEOUT = 10_000;

function page(bundle: string): string {
  return `<!doctype html><html><head><script src="/socket.io/${bundle}"></script></head><body><script>
    const socket = io();
    socket.on("connect", () => {
      socket.emit("hello", "from the browser", (answer) => {
        const done = () => { document.body.dataset.answer = answer; document.body.dataset.transport = socket.io.engine.transport.name; };
        if (socket.io.engine.transport.name === "websocket") done();
        else socket.io.engine.once("upgrade", done);
      });
    });
    socket.on("connect_error", (err) => { document.body.dataset.error = err.message; });
  </script></body></html>`;
}

async function serve(bundle: string, opts: ServerOptions = {}) {
  const io = new Server(opts);
  io.on("connection", (socket) =>
    socket.on("hello", (text: string, ack: (answer: string) => void) => ack(`server heard: ${text}`)),
  );
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    ...io.handler(() => new Response(page(bundle), { headers: { "content-type": "text/html" } })),
  });
  return {
    url: `http://127.0.0.1:${server.port}/`,
    async close() {
      await io.close();
      await server.stop(true);
    },
  };
}

describe.skipIf(!hasChromium())("the client bundle served by Switchboard, in Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => browser?.close());

  for (const [bundle, opts] of [
    ["socket.io.min.js", {}],
    ["socket.io.msgpack.min.js", { parser: msgpackParser as unknown as Parser }],
  ] as const) {
    test(
      `a page loads /socket.io/${bundle}, connects, upgrades and gets its ack`,
      async () => {
        const app = await serve(bundle, opts);
        const context = await browser.newContext();
        try {
          const tab = await context.newPage();
          const errors: string[] = [];
          tab.on("pageerror", (err) => errors.push(err.message));
          await tab.goto(app.url);
          await tab.waitForFunction(() => document.body.dataset.answer || document.body.dataset.error, null, {
            timeout: STEP_TIMEOUT,
          });
          expect(await tab.evaluate(() => ({ ...document.body.dataset }))).toEqual({
            answer: "server heard: from the browser",
            transport: "websocket",
          });
          expect(errors).toEqual([]);
        } finally {
          await context.close();
          await app.close();
        }
      },
      STEP_TIMEOUT * 3,
    );
  }
});
