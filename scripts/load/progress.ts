/**
 * Live progress on the terminal: a status line rewritten in place on a TTY (plain lines
 * elsewhere, throttled so logs stay readable), and permanent lines for finished measurements.
 */

const NON_TTY_STATUS_INTERVAL_MS = 2_000;

export class Progress {
  private readonly tty = Boolean(process.stderr.isTTY);
  private lastStatus = 0;
  private statusShown = false;

  constructor(private readonly quiet = false) {}

  /** A transient status (ramp counts, current rate): overwritten by the next one. */
  status(text: string): void {
    if (this.quiet) return;
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${text}`);
      this.statusShown = true;
      return;
    }
    const now = performance.now();
    if (now - this.lastStatus < NON_TTY_STATUS_INTERVAL_MS) return;
    this.lastStatus = now;
    process.stderr.write(`  … ${text}\n`);
  }

  /** A finished measurement: stays on screen. */
  line(text: string): void {
    if (this.quiet) return;
    if (this.tty && this.statusShown) process.stderr.write("\r\x1b[2K");
    this.statusShown = false;
    process.stderr.write(`${text}\n`);
  }
}
