/** The web UI's reading of `service_window_expires_at` (src/web/app/service-window-view.ts windowState). */
import { describe, expect, test } from "bun:test";
import { windowState } from "../../src/web/app/service-window-view.ts";

const NOW = Date.parse("2026-12-04T12:00:00.000Z");

describe("service window state in the inbox", () => {
  test("open while the expiry is ahead, closed from the expiry on", () => {
    expect(windowState("2026-12-04T12:00:01.000Z", NOW)).toMatchObject({
      open: true,
      label: expect.stringContaining("less than 1 min left"),
    });
    expect(windowState("2026-12-05T11:30:00.000Z", NOW).label).toContain("23 h 30 min left");
    expect(windowState("2026-12-04T12:00:00.000Z", NOW).open).toBe(false);
    expect(windowState("2026-12-03T12:00:00.000Z", NOW)).toMatchObject({
      open: false,
      label: expect.stringContaining("closed"),
    });
  });

  test("a contact who never wrote has no window; an unreadable expiry counts as closed", () => {
    expect(windowState(null, NOW)).toMatchObject({
      open: false,
      label: expect.stringContaining("not written"),
    });
    expect(windowState("garbage", NOW).open).toBe(false);
  });
});
