/** The soak's report: a markdown table and an SVG chart of memory over time, under reports/. */

export interface Sample {
  /** Seconds since the load started. */
  t: number;
  rssMb: number;
  heapMb: number;
  objects: number;
  connections: number;
  sockets: number;
  rooms: number;
}

export interface Verdict {
  ok: boolean;
  /** One line per check, "✓ …" or "✗ …". */
  lines: string[];
}

export interface SoakSummary {
  startedAt: string;
  command: string;
  settings: Record<string, string | number>;
  warmupSeconds: number;
  samples: Sample[];
  verdict: Verdict;
  totals: Record<string, number>;
}

const W = 900;
const H = 360;
const PAD = { left: 60, right: 60, top: 30, bottom: 40 };

function path(points: [number, number][]): string {
  return points.map(([x, y], i) => `${i === 0 ? "M" : "L"}${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
}

/** RSS and heap (MB, left axis) and connections (right axis) over time, warm-up shaded. */
export function renderSvg(summary: SoakSummary): string {
  const s = summary.samples;
  const tMax = Math.max(1, ...s.map((x) => x.t));
  const mMax = Math.max(1, ...s.map((x) => Math.max(x.rssMb, x.heapMb))) * 1.1;
  const cMax = Math.max(1, ...s.map((x) => x.connections)) * 1.1;
  const x = (t: number) => PAD.left + (t / tMax) * (W - PAD.left - PAD.right);
  const yM = (m: number) => H - PAD.bottom - (m / mMax) * (H - PAD.top - PAD.bottom);
  const yC = (c: number) => H - PAD.bottom - (c / cMax) * (H - PAD.top - PAD.bottom);
  const ticks = Array.from({ length: 6 }, (_, i) => (mMax / 5) * i);
  const tTicks = Array.from({ length: 6 }, (_, i) => (tMax / 5) * i);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
<rect x="${x(0)}" y="${PAD.top}" width="${x(summary.warmupSeconds) - x(0)}" height="${H - PAD.top - PAD.bottom}" fill="#f2f2f2"/>
<text x="${x(0) + 4}" y="${PAD.top + 14}" fill="#888">warm-up</text>
${ticks.map((m) => `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${yM(m)}" y2="${yM(m)}" stroke="#e5e5e5"/><text x="${PAD.left - 6}" y="${yM(m) + 4}" text-anchor="end">${m.toFixed(0)}</text>`).join("\n")}
${tTicks.map((t) => `<text x="${x(t)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${t.toFixed(0)}s</text>`).join("\n")}
<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">MB</text>
<text x="${W - 14}" y="${H / 2}" transform="rotate(90 ${W - 14} ${H / 2})" text-anchor="middle">connections</text>
<path d="${path(s.map((p) => [x(p.t), yC(p.connections)]))}" fill="none" stroke="#bbb" stroke-dasharray="4 3"/>
<path d="${path(s.map((p) => [x(p.t), yM(p.rssMb)]))}" fill="none" stroke="#d62728" stroke-width="2"/>
<path d="${path(s.map((p) => [x(p.t), yM(p.heapMb)]))}" fill="none" stroke="#1f77b4" stroke-width="2"/>
<text x="${PAD.left}" y="18" fill="#d62728">RSS</text><text x="${PAD.left + 40}" y="18" fill="#1f77b4">JS heap (after GC)</text><text x="${PAD.left + 170}" y="18" fill="#999">connections</text>
<text x="${W - PAD.right}" y="18" text-anchor="end">${summary.verdict.ok ? "PASS" : "FAIL"} · ${summary.startedAt}</text>
</svg>
`;
}

export function renderMarkdown(summary: SoakSummary, svgName: string): string {
  const rows = summary.samples;
  // About 20 rows: every k-th sample plus the last one.
  const k = Math.max(1, Math.ceil(rows.length / 20));
  const shown = rows.filter((_, i) => i % k === 0 || i === rows.length - 1);
  const lines = [
    `# Soak run ${summary.startedAt}`,
    "",
    `Command: \`${summary.command}\``,
    "",
    `**Verdict: ${summary.verdict.ok ? "PASS" : "FAIL"}**`,
    "",
    ...summary.verdict.lines.map((l) => `- ${l}`),
    "",
    "| setting | value |",
    "|---|---|",
    ...Object.entries(summary.settings).map(([k2, v]) => `| ${k2} | ${v} |`),
    "",
    "| total | value |",
    "|---|---|",
    ...Object.entries(summary.totals).map(([k2, v]) => `| ${k2} | ${v} |`),
    "",
    `![memory over time](${svgName})`,
    "",
    "| t (s) | RSS (MB) | JS heap after GC (MB) | JS objects | client connections | server sockets | rooms |",
    "|---:|---:|---:|---:|---:|---:|---:|",
    ...shown.map(
      (s) =>
        `| ${s.t.toFixed(0)} | ${s.rssMb.toFixed(1)} | ${s.heapMb.toFixed(1)} | ${s.objects} | ${s.connections} | ${s.sockets} | ${s.rooms} |`,
    ),
    "",
  ];
  return lines.join("\n");
}
