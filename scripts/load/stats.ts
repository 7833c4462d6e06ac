/** Latency histograms and the summaries of repeated measurements. */

/** Histogram resolution: 10 µs buckets up to 20 s; slower samples are kept exactly, apart. */
const BUCKET_MS = 0.01;
const BUCKETS = 2_000_000;

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Fixed-bucket latency histogram: O(1) record, no allocation on the hot path. */
export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  /** Samples beyond the last bucket (a stalled server): rare, so kept as they are. */
  private readonly overflow: number[] = [];
  count = 0;
  private sum = 0;
  private max = 0;

  record(ms: number): void {
    const v = Math.max(0, ms);
    const i = Math.floor(v / BUCKET_MS);
    if (i < BUCKETS) this.counts[i]!++;
    else this.overflow.push(v);
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /** The value below which `p` percent of the samples fall (upper edge of its bucket). */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min((i + 1) * BUCKET_MS, this.max);
    }
    const slow = [...this.overflow].sort((a, b) => a - b);
    return slow[rank - seen - 1] ?? this.max;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      p50: round(this.percentile(50)),
      p90: round(this.percentile(90)),
      p99: round(this.percentile(99)),
      max: round(this.max),
      mean: round(this.count ? this.sum / this.count : 0),
    };
  }
}

/** Median and range of repeated measurements of one figure. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, values: [] };
  const median = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  return { median, min: sorted[0]!, max: sorted[n - 1]!, values: [...values] };
}

/** Round to 3 significant decimals for reports (latencies in ms, rates, percents). */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
