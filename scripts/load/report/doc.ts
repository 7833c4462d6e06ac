/** Writes a run's table into BENCHMARKS.md between its results markers, leaving the prose alone. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const BEGIN = "<!-- results:begin -->";
const END = "<!-- results:end -->";

export function updateBenchmarksDoc(path: string, markdown: string, svgPath: string): void {
  const block = `${BEGIN}\n${markdown}\n![charts](${svgPath})\n${END}`;
  const doc = existsSync(path) ? readFileSync(path, "utf8") : `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  const next =
    start >= 0 && end > start
      ? doc.slice(0, start) + block + doc.slice(end + END.length)
      : `${doc}\n${block}\n`;
  writeFileSync(path, next);
}
