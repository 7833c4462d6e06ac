/**
 * Is the public port free? Asked before the database is opened, so a second start on a busy port
 * refuses without migrating, seeding or building anything. (A port taken in the instant between
 * this check and Bun.serve still fails Bun.serve, and main.ts reports that the same way.)
 */
import { createServer } from "node:net";
import { StartupError } from "./errors.ts";

export function portInUse(host: string, port: number, variable = "PORT"): StartupError {
  return new StartupError(
    `port ${port} on ${host} is already in use (another Switchboard or program is listening): stop it, or set ${variable} to another port`,
  );
}

/** Resolves when `host:port` can be bound; rejects with a StartupError when it is taken. */
export function assertPortFree(host: string, port: number, variable = "PORT"): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") reject(portInUse(host, port, variable));
      else if (err.code === "EACCES")
        reject(
          new StartupError(
            `port ${port} on ${host} needs privileges this process lacks: set ${variable} above 1023`,
          ),
        );
      else if (err.code === "EADDRNOTAVAIL")
        reject(
          new StartupError(
            `HOST ${host} is not an address of this machine: set HOST (e.g. 127.0.0.1 or 0.0.0.0)`,
          ),
        );
      else reject(err);
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
