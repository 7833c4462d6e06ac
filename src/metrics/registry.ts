/**
 * A minimal Prometheus registry (text exposition format 0.0.4): counters, gauges and histograms
 * with labels. Enough for one process's /metrics without a dependency.
 */

type Labels = Record<string, string>;

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const labelKey = (labels: Labels): string =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabel(labels[k] ?? "")}"`)
    .join(",");
const series = (name: string, key: string) => (key ? `${name}{${key}}` : name);

interface Metric {
  render(): string;
}

abstract class Base implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
  ) {}
  protected header(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n`;
  }
  abstract render(): string;
}

export class Counter extends Base {
  readonly #values = new Map<string, number>();
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.#values.get(labelKey(labels)) ?? 0;
  }
  render(): string {
    let out = this.header();
    for (const [key, v] of this.#values) out += `${series(this.name, key)} ${v}\n`;
    return out;
  }
}

/** A gauge whose values are read at scrape time from `collect` (no bookkeeping to drift). */
export class Gauge extends Base {
  constructor(
    name: string,
    help: string,
    private readonly collect: () => Array<[Labels, number]>,
  ) {
    super(name, help, "gauge");
  }
  render(): string {
    let out = this.header();
    for (const [labels, v] of this.collect()) out += `${series(this.name, labelKey(labels))} ${v}\n`;
    return out;
  }
}

export class Histogram extends Base {
  readonly #buckets: number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;
  constructor(name: string, help: string, buckets: number[]) {
    super(name, help, "histogram");
    this.#buckets = [...buckets].sort((a, b) => a - b);
    this.#counts = this.#buckets.map(() => 0);
  }
  observe(value: number): void {
    this.#sum += value;
    this.#count++;
    for (let i = 0; i < this.#buckets.length; i++) if (value <= this.#buckets[i]!) this.#counts[i]!++;
  }
  get count(): number {
    return this.#count;
  }
  render(): string {
    let out = this.header();
    this.#buckets.forEach((le, i) => {
      out += `${this.name}_bucket{le="${le}"} ${this.#counts[i]}\n`;
    });
    out += `${this.name}_bucket{le="+Inf"} ${this.#count}\n${this.name}_sum ${this.#sum}\n${this.name}_count ${this.#count}\n`;
    return out;
  }
}

export class Registry {
  readonly #metrics: Metric[] = [];
  register<M extends Metric>(metric: M): M {
    this.#metrics.push(metric);
    return metric;
  }
  render(): string {
    return this.#metrics.map((m) => m.render()).join("");
  }
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
