/**
 * `bun scripts/load/profile-summary.ts FILE.cpuprofile [N]`: the N functions with the most self
 * time in a V8/JSC CPU profile (as written by `--cpu-prof`, e.g. via `bun scripts/load --profile`),
 * plus their share of all samples. Enough to tell which hot path costs what without a GUI.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  percent: number;
}

export function hotFunctions(profile: Profile, top: number): HotFunction[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, { name: string; where: string; n: number }>();
  for (const id of profile.samples) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const file = frame.url.replace(/^.*\/work\/main\//, "").replace(/^file:\/\//, "");
    const where = file ? `${file}:${frame.lineNumber + 1}` : "(native)";
    const key = `${frame.functionName}@${where}`;
    const entry = counts.get(key) ?? { name: frame.functionName || "(anonymous)", where, n: 0 };
    entry.n++;
    counts.set(key, entry);
  }
  const total = profile.samples.length || 1;
  return [...counts.values()]
    .sort((a, b) => b.n - a.n)
    .slice(0, top)
    .map((e) => ({ name: e.name, where: e.where, percent: Math.round((e.n / total) * 1000) / 10 }));
}

if (import.meta.main) {
  const [file, n] = process.argv.slice(2);
  if (!file) {
    process.stderr.write("usage: bun scripts/load/profile-summary.ts FILE.cpuprofile [N]\n");
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  process.stdout.write(`${profile.samples.length} samples\n`);
  for (const f of hotFunctions(profile, Number(n ?? 25))) {
    process.stdout.write(`${f.percent.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}\n`);
  }
}
