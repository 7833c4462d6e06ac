/**
 * `bun src/main.ts` as a child process, as an operator runs it: environment in, the banner's URL,
 * demo token and conversation out, signals in, exit code out.
 */
import type { Subprocess } from "bun";
import { WAIT_MS, withTimeout } from "./wait.ts";

export interface MainProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** http://127.0.0.1:port from the banner. */
  url: string;
  /** The admin access token the banner prints on a first start (seeded demo). */
  token: string | null;
  /** The demo conversation id from the banner. */
  conversationId: string | null;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code, or rejects after `ms`. */
  exited(ms?: number): Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

/** How long a first start may take (PGlite creation + migrations + web UI build on a busy machine). */
export const START_BOUND_MS = 120_000;

export async function startMain(env: Record<string, string>, ms = START_BOUND_MS): Promise<MainProcess> {
  const proc = Bun.spawn(["bun", "src/main.ts"], {
    cwd: `${import.meta.dir}/../../..`,
    env: { ...process.env, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      out += decoder.decode(value, { stream: true });
    }
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const banner = await withTimeout(
    (async () => {
      for (;;) {
        // The banner's last line: the token (first demo start), how to get one (demo data of an earlier
        // start), or "Log in with your users".
        const url = /running on (http:\/\/[^\s]+)/.exec(out)?.[1];
        if (
          url &&
          (/Access token for[^\n]*\n\s+(\S+)\n/.test(out) ||
            /prints an access token/.test(out) ||
            /Log in with your users/.test(out))
        )
          return url;
        if (proc.exitCode !== null)
          throw new Error(`main.ts exited with ${proc.exitCode} before listening:\n${out}`);
        await Bun.sleep(50);
      }
    })(),
    "main.ts to print its banner",
    ms,
  ).catch((err) => {
    proc.kill("SIGKILL");
    throw err;
  });
  return {
    proc,
    url: banner,
    token: /Access token for[^\n]*\n\s+(\S+)\n/.exec(out)?.[1] ?? null,
    conversationId: /conversation: ([0-9a-f-]{36})/.exec(out)?.[1] ?? null,
    output: () => out,
    exited: (bound = WAIT_MS) => withTimeout(proc.exited, "main.ts to exit", bound),
    kill: (signal = "SIGTERM") => proc.kill(signal),
  };
}
