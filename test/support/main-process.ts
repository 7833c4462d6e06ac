/**
 * `bun src/main.ts` (or another command) as a subprocess, the way an operator runs it: start it and
 * read stdout until the banner, stop it with SIGTERM, or run it to its exit and collect what it
 * printed. Every wait is bounded.
 */
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");
export const MAIN = join(ROOT, "src", "main.ts");
export const START_TIMEOUT_MS = 60_000;

export interface StartedProcess {
  proc: ReturnType<typeof Bun.spawn>;
  /** stdout up to and including the match of `until`. */
  output: string;
  /** The server's URL from the banner. */
  url: string;
  /** Everything written to stderr so far (keeps growing while the process runs). */
  stderr(): string;
}

/** The bare environment a child gets: PATH and HOME, plus `env`. Nothing of the test's own env leaks. */
export function childEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env };
}

function collect(stream: ReadableStream<Uint8Array>, into: (text: string) => void): void {
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  void (async () => {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      into(decoder.decode(chunk.value));
  })().catch(() => {});
}

/** Starts `cmd` (default src/main.ts on PORT 0) and reads stdout until `until` appears. */
export async function startProcess(
  env: Record<string, string>,
  until: RegExp = /running on http:\/\/\S+[\s\S]*\n\n/,
  cmd: string[] = ["bun", MAIN],
  cwd: string = ROOT,
): Promise<StartedProcess> {
  // A server started in this checkout without DATA_DIR would write ./data into the working tree.
  if (cwd === ROOT && env.DATA_DIR === undefined)
    throw new Error("startProcess in the repository needs DATA_DIR");
  const proc = Bun.spawn(cmd, {
    cwd,
    env: childEnv({ PORT: "0", LOG_LEVEL: "warn", ...env }),
    stdout: "pipe",
    stderr: "pipe",
  });
  let errText = "";
  collect(proc.stderr as ReadableStream<Uint8Array>, (t) => {
    errText += t;
  });
  let output = "";
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!until.test(output)) {
    const chunk = await Promise.race([
      reader.read(),
      Bun.sleep(Math.max(0, deadline - Date.now())).then(() => ({ done: true, value: undefined })),
    ]);
    if (chunk.done) break;
    output += decoder.decode(chunk.value);
  }
  reader.releaseLock();
  collect(proc.stdout as ReadableStream<Uint8Array>, (t) => {
    output += t;
  });
  if (!until.test(output)) {
    proc.kill("SIGKILL");
    await proc.exited;
    throw new Error(`${cmd.join(" ")} did not print ${until}:\n${output}\n${errText}`);
  }
  const url = /running on (http:\/\/\S+)/.exec(output)?.[1] ?? "";
  return { proc, output, url, stderr: () => errText };
}

/** SIGTERM, then SIGKILL after 15 s; resolves with the exit code (-1 when it had to be killed). */
export async function stopProcess(proc: StartedProcess["proc"]): Promise<number> {
  if (proc.exitCode !== null) return proc.exitCode;
  proc.kill("SIGTERM");
  const code = await Promise.race([proc.exited, Bun.sleep(15_000).then(() => -1)]);
  if (code === -1) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
  return code;
}

export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd` to its exit (killed after `timeoutMs`) and returns its code and output. */
export async function runToExit(
  cmd: string[],
  env: Record<string, string>,
  timeoutMs = START_TIMEOUT_MS,
  cwd: string = ROOT,
): Promise<Finished> {
  const proc = Bun.spawn(cmd, {
    cwd,
    env: childEnv({ LOG_LEVEL: "warn", ...env }),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout as ReadableStream).text(),
    new Response(proc.stderr as ReadableStream).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}
