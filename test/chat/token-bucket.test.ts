/** The keyed token bucket behind the socket-event and login rate limits. */
import { describe, expect, test } from "bun:test";
import { TokenBuckets } from "../../src/limits/token-bucket.ts";

describe("token buckets", () => {
  test("allow a burst, then refill at the configured rate, per key", () => {
    let now = 0;
    const buckets = new TokenBuckets({ ratePerSecond: 2, burst: 3, now: () => now });
    expect([1, 2, 3, 4].map(() => buckets.take("u1"))).toEqual([true, true, true, false]);
    expect(buckets.take("u2")).toBe(true);
    now += 499;
    expect(buckets.take("u1")).toBe(false);
    now += 1;
    expect(buckets.take("u1")).toBe(true);
    now += 10_000;
    expect([1, 2, 3, 4].map(() => buckets.take("u1"))).toEqual([true, true, true, false]);
  });

  test("full buckets are swept so idle keys do not accumulate", () => {
    let now = 0;
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 1, sweepAbove: 10, now: () => now });
    for (let i = 0; i < 10; i++) buckets.take(`k${i}`);
    now += 5_000;
    buckets.take("fresh");
    expect(buckets.size).toBe(1);
  });
});
