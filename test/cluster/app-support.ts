/**
 * The chat server (`bun src/main.ts`) as node processes of a cluster, for the app-level cluster
 * suites: start a node with an environment, log in as the seeded admin.
 */
import { join } from "node:path";
import { freePort, within } from "./support.ts";

const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");
export const PASSWORD = "cluster-demo-password-1";

export interface AppNode {
  proc: ReturnType<typeof Bun.spawn>;
  url: string;
  output: string;
}

export async function startApp(env: Record<string, string>): Promise<AppNode> {
  const port = await freePort();
  const proc = Bun.spawn(["bun", MAIN], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      LOG_LEVEL: "error",
      PORT: String(port),
      ...env,
    },
    stdout: "pipe",
    stderr: "inherit",
  });
  let output = "";
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const banner = /running on (http:\/\/\S+)/;
  await within(
    "app start",
    (async () => {
      while (!banner.test(output) || !/\n\s*\n[\s\S]*$/.test(output.slice(output.search(banner)))) {
        const chunk = await reader.read();
        if (chunk.done) throw new Error(`app exited: ${output}`);
        output += decoder.decode(chunk.value);
      }
    })(),
    50_000,
  );
  reader.releaseLock();
  return { proc, url: banner.exec(output)?.[1] as string, output };
}

/** Logs in as the admin the first node seeded; returns the access token. */
export async function loginAsAdmin(first: AppNode): Promise<string> {
  const login = await fetch(`${first.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: /admin:\s+(\S+)/.exec(first.output)?.[1], password: PASSWORD }),
  });
  return ((await login.json()) as { access_token: string }).access_token;
}
