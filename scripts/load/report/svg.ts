/**
 * Hand-written SVG charts: latency percentiles by offered rate (fanout and polling steps), server
 * memory by connection count (connect ramps) and, when the run has them, the scaling curve (RSS per
 * connection, connects/s and broadcast-to-all latency by connection count), one colour per server.
 */
import type { Sample } from "../scenarios/types.ts";
import { spread } from "../stats.ts";

interface Series {
  name: string;
  color: string;
  dash?: string;
  points: [number, number][];
}

interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  logX: boolean;
  logY: boolean;
  series: Series[];
  /** Horizontal reference line (the p99 limit). */
  guide?: { y: number; label: string };
}

/** One colour per target, the same in every chart. */
const COLORS: Record<string, string> = {
  official: "#d62728",
  "socketio-bun": "#ff7f0e",
  switchboard: "#1f77b4",
  "bare-bun": "#2ca02c",
};
const PANEL_W = 460;
const PANEL_H = 320;
const M = { left: 60, right: 15, top: 30, bottom: 45 };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function niceTicks(min: number, max: number, log: boolean): number[] {
  if (log) {
    const ticks: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) ticks.push(10 ** e);
    return ticks;
  }
  const span = max - min || 1;
  const step = 10 ** Math.floor(Math.log10(span / 5));
  const unit = [1, 2, 5, 10].map((m) => m * step).find((s) => span / s <= 6) ?? step * 10;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / unit) * unit; t <= max + 1e-9; t += unit) ticks.push(t);
  return ticks;
}

function label(n: number): string {
  if (n >= 1e6) return `${n / 1e6}M`;
  if (n >= 1e3) return `${n / 1e3}k`;
  return String(n);
}

function panel(p: Panel, ox: number, oy: number): string {
  const pts = p.series.flatMap((s) => s.points).filter(([x, y]) => (!p.logX || x > 0) && (!p.logY || y > 0));
  const out: string[] = [`<g transform="translate(${ox},${oy})">`];
  out.push(`<text x="${PANEL_W / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
  if (pts.length === 0) {
    out.push(`<text x="${PANEL_W / 2}" y="${PANEL_H / 2}" text-anchor="middle">no data</text></g>`);
    return out.join("");
  }
  let [x0, x1] = [Math.min(...pts.map((q) => q[0])), Math.max(...pts.map((q) => q[0]))];
  let [y0, y1] = [Math.min(...pts.map((q) => q[1])), Math.max(...pts.map((q) => q[1]), p.guide?.y ?? 0)];
  if (!p.logX) x0 = Math.min(0, x0);
  if (!p.logY) y0 = Math.min(0, y0);
  if (p.logX) [x0, x1] = [10 ** Math.floor(Math.log10(x0)), 10 ** Math.ceil(Math.log10(x1))];
  if (p.logY) [y0, y1] = [10 ** Math.floor(Math.log10(y0)), 10 ** Math.ceil(Math.log10(y1))];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const w = PANEL_W - M.left - M.right;
  const h = PANEL_H - M.top - M.bottom;
  const sx = (x: number) =>
    M.left +
    (p.logX ? (Math.log10(x) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) : (x - x0) / (x1 - x0)) *
      w;
  const sy = (y: number) =>
    M.top +
    h -
    (p.logY ? (Math.log10(y) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0)) : (y - y0) / (y1 - y0)) *
      h;
  for (const t of niceTicks(x0, x1, p.logX)) {
    out.push(`<line x1="${sx(t)}" y1="${M.top}" x2="${sx(t)}" y2="${M.top + h}" stroke="#eee"/>`);
    out.push(
      `<text x="${sx(t)}" y="${M.top + h + 15}" text-anchor="middle" font-size="11">${label(t)}</text>`,
    );
  }
  for (const t of niceTicks(y0, y1, p.logY)) {
    out.push(`<line x1="${M.left}" y1="${sy(t)}" x2="${M.left + w}" y2="${sy(t)}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 5}" y="${sy(t) + 4}" text-anchor="end" font-size="11">${label(t)}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${w}" height="${h}" fill="none" stroke="#888"/>`);
  out.push(
    `<text x="${M.left + w / 2}" y="${PANEL_H - 8}" text-anchor="middle" font-size="12">${esc(p.xLabel)}</text>`,
  );
  out.push(
    `<text transform="translate(14,${M.top + h / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(p.yLabel)}</text>`,
  );
  if (p.guide) {
    const gy = sy(p.guide.y);
    out.push(
      `<line x1="${M.left}" y1="${gy}" x2="${M.left + w}" y2="${gy}" stroke="#999" stroke-dasharray="2,3"/>`,
    );
    out.push(
      `<text x="${M.left + w - 4}" y="${gy - 4}" text-anchor="end" font-size="10" fill="#666">${esc(p.guide.label)}</text>`,
    );
  }
  p.series.forEach((s, i) => {
    const visible = s.points
      .filter(([x, y]) => (!p.logX || x > 0) && (!p.logY || y > 0))
      .sort((a, b) => a[0] - b[0]);
    const d = visible.map(([x, y], j) => `${j ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
    out.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`,
    );
    for (const [x, y] of visible)
      out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    const ly = M.top + 14 + i * 15;
    out.push(
      `<line x1="${M.left + 8}" y1="${ly - 4}" x2="${M.left + 28}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`,
    );
    out.push(`<text x="${M.left + 32}" y="${ly}" font-size="11">${esc(s.name)}</text>`);
  });
  out.push("</g>");
  return out.join("\n");
}

type StepSample = Sample & { deliveriesPerSec: number; latency: { p50: number; p99: number } };
type ConnectSample = Sample & { count: number; rssCurve: [number, number][] };

function latencySeries(samples: Sample[], scenario: "fanout" | "polling"): Series[] {
  const series: Series[] = [];
  // Search steps and fixed-rate repetitions alike: every offered rate that was measured.
  const steps = samples.filter(
    (s) => s.scenario === scenario && (s.kind === "step" || s.kind === "fixed"),
  ) as StepSample[];
  for (const target of [...new Set(steps.map((s) => String(s.target)))]) {
    // One point per offered rate: the median over the repetitions (and retries) at that rate.
    const byRate = new Map<number, StepSample[]>();
    for (const s of steps.filter((x) => x.target === target)) {
      byRate.set(s.deliveriesPerSec, [...(byRate.get(s.deliveriesPerSec) ?? []), s]);
    }
    const at = (pick: (s: StepSample) => number): [number, number][] =>
      [...byRate].map(([rate, group]) => [rate, spread(group.map(pick)).median]);
    const color = COLORS[target] ?? "#555";
    series.push({ name: `${target} p99`, color, points: at((s) => s.latency.p99) });
    series.push({ name: `${target} p50`, color, dash: "5,4", points: at((s) => s.latency.p50) });
  }
  return series;
}

function memorySeries(samples: Sample[]): Series[] {
  const runs = samples.filter((s) => s.scenario === "connect" && s.kind === "run") as ConnectSample[];
  const series: Series[] = [];
  for (const target of [...new Set(runs.map((s) => String(s.target)))]) {
    const mine = runs.filter((s) => s.target === target).sort((a, b) => b.count - a.count)[0];
    if (!mine) continue;
    series.push({
      name: `${target} (${mine.count.toLocaleString("en")} ramp)`,
      color: COLORS[target] ?? "#555",
      points: mine.rssCurve.map(([n, kb]) => [n, Math.round((kb / 1024) * 10) / 10]),
    });
  }
  return series;
}

type ScaleSample = Sample & {
  count: number;
  rssPerConnKb: number;
  connectsPerSec: number;
  lastReceiverP99: number;
  delivery: { p50: number };
};

/** One series per target of a figure of the scale runs, by connection count. */
function scaleSeries(
  samples: Sample[],
  pick: (s: ScaleSample) => number,
  suffix = "",
  dash?: string,
): Series[] {
  const runs = samples.filter((s) => s.scenario === "scale" && s.kind === "run") as ScaleSample[];
  return [...new Set(runs.map((s) => String(s.target)))].map((target) => ({
    name: suffix ? `${target} ${suffix}` : target,
    color: COLORS[target] ?? "#555",
    ...(dash ? { dash } : {}),
    points: runs.filter((s) => s.target === target).map((s): [number, number] => [s.count, pick(s)]),
  }));
}

/** The three panels of the scaling curve (scenario `scale`). */
function scalePanels(samples: Sample[]): Panel[] {
  return [
    {
      title: "scale: server RSS per idle connection",
      xLabel: "connections (log)",
      yLabel: "KiB per connection",
      logX: true,
      logY: false,
      series: scaleSeries(samples, (s) => s.rssPerConnKb),
      guide: { y: 4, label: "4 KiB" },
    },
    {
      title: "scale: connects/s",
      xLabel: "connections (log)",
      yLabel: "connects/s",
      logX: true,
      logY: false,
      series: scaleSeries(samples, (s) => s.connectsPerSec),
    },
    {
      title: "scale: broadcast to all, latency",
      xLabel: "connections (log)",
      yLabel: "ms (log)",
      logX: true,
      logY: true,
      series: [
        ...scaleSeries(samples, (s) => s.lastReceiverP99, "p99 to last"),
        ...scaleSeries(samples, (s) => s.delivery.p50, "p50", "5,4"),
      ],
      guide: { y: 1000, label: "1 s" },
    },
  ];
}

/** Panels per row of the SVG. */
const PER_ROW = 3;

export function svgReport(samples: Sample[], title: string): string {
  const panels: Panel[] = [
    {
      title: "fanout: latency by offered rate",
      xLabel: "offered deliveries/s (log)",
      yLabel: "latency ms (log)",
      logX: true,
      logY: true,
      series: latencySeries(samples, "fanout"),
      guide: { y: 50, label: "p99 limit 50 ms" },
    },
    {
      title: "polling: latency by offered rate",
      xLabel: "offered deliveries/s (log)",
      yLabel: "latency ms (log)",
      logX: true,
      logY: true,
      series: latencySeries(samples, "polling"),
      guide: { y: 50, label: "p99 limit 50 ms" },
    },
    {
      title: "connect: server RSS by connections",
      xLabel: "connected websocket clients",
      yLabel: "server RSS MiB",
      logX: false,
      logY: false,
      series: memorySeries(samples),
    },
  ];
  if (samples.some((s) => s.scenario === "scale")) panels.push(...scalePanels(samples));
  // A run of a few scenarios draws only their panels (all of them, "no data", when it has none).
  const drawn = panels.filter((p) => p.series.some((s) => s.points.length > 0));
  if (drawn.length > 0) panels.splice(0, panels.length, ...drawn);
  const width = PANEL_W * Math.min(PER_ROW, panels.length);
  const height = PANEL_H * Math.ceil(panels.length / PER_ROW) + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="13">${esc(title)}</text>`,
    ...panels.map((p, i) => panel(p, (i % PER_ROW) * PANEL_W, 30 + Math.floor(i / PER_ROW) * PANEL_H)),
    "</svg>",
    "",
  ].join("\n");
}
