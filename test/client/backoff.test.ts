import { describe, expect, test } from "bun:test";
import { Backoff } from "../../src/client/backoff.ts";

describe("Backoff", () => {
  test("doubles from the first delay up to the ceiling and stays there", () => {
    const backoff = new Backoff({ minMs: 100, maxMs: 1000, jitter: 0 });
    expect(Array.from({ length: 7 }, () => backoff.next())).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(backoff.attempts).toBe(7);
  });

  test("jitter only shortens a delay, by at most its share", () => {
    const low = new Backoff({ minMs: 100, maxMs: 1000, jitter: 0.5, random: () => 0.999 });
    const high = new Backoff({ minMs: 100, maxMs: 1000, jitter: 0.5, random: () => 0 });
    expect([low.next(), low.next()]).toEqual([50, 100]);
    expect([high.next(), high.next()]).toEqual([100, 200]);
  });

  test("reset starts again from the first delay", () => {
    const backoff = new Backoff({ minMs: 10, maxMs: 80, jitter: 0 });
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(10);
  });

  test("a long outage never overflows the ceiling", () => {
    const backoff = new Backoff({ minMs: 500, maxMs: 5000, jitter: 0 });
    for (let i = 0; i < 2000; i++) backoff.next();
    expect(backoff.next()).toBe(5000);
  });
});
