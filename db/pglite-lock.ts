/**
 * One process per PGlite directory. PGlite is single-process: two processes writing one directory
 * corrupt it, and nothing in PGlite prevents it. `acquirePgliteLock` writes `switchboard.lock` (the
 * holder's PID) into the directory with an exclusive create, before PGlite touches anything; a
 * second process refuses with a one-line error naming the holder. A lock left by a process that died
 * (SIGKILL, crash) names a PID that no longer runs: it is taken over.
 *
 * Within one process the lock is shared (counted): tests and tools may open a directory twice.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

export const PGLITE_LOCK_FILE = "switchboard.lock";

/** The directory is held by another live process. `message` is one line that says what to do. */
export class DatabaseLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holderPid: number,
  ) {
    super(
      `the embedded database ${dir} is in use by process ${holderPid} (another Switchboard server or script): stop it first, or set PGLITE_DIR or DATABASE_URL to use another database`,
    );
    this.name = "DatabaseLockedError";
  }
}

export interface PgliteLock {
  readonly path: string;
  /** Removes the lock (once every holder in this process has released it). */
  release(): void;
}

/** Lock path → how many holders in this process. */
const heldHere = new Map<string, number>();
let exitHookInstalled = false;

/** A process that exits without closing its database still leaves no lock behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const path of heldHere.keys()) {
      try {
        removeIfOurs(path);
      } catch {
        // The directory is gone: nothing to remove.
      }
    }
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else; it still holds the directory.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readHolder(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function createExclusive(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function removeIfOurs(path: string): void {
  if (readHolder(path) === process.pid) unlinkSync(path);
}

/** Takes the directory's lock or throws DatabaseLockedError. The directory must exist. */
export function acquirePgliteLock(dir: string): PgliteLock {
  const path = join(dir, PGLITE_LOCK_FILE);
  const count = heldHere.get(path);
  if (count === undefined) {
    // Two tries: the second after removing a lock whose holder is dead (or unreadable garbage).
    for (let attempt = 0; ; attempt++) {
      if (createExclusive(path)) break;
      const holder = readHolder(path);
      if (holder !== null && holder !== process.pid && isRunning(holder))
        throw new DatabaseLockedError(dir, holder);
      if (attempt > 0) throw new DatabaseLockedError(dir, holder ?? 0);
      try {
        unlinkSync(path);
      } catch {
        // Removed by another process taking it over at the same moment: the next try decides.
      }
    }
  }
  installExitHook();
  heldHere.set(path, (count ?? 0) + 1);
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      const left = (heldHere.get(path) ?? 1) - 1;
      if (left > 0) {
        heldHere.set(path, left);
        return;
      }
      heldHere.delete(path);
      try {
        removeIfOurs(path);
      } catch {
        // Already gone (the directory was deleted): nothing to release.
      }
    },
  };
}
