/**
 * Topic names: a namespace's topic is one shared string (every connected session keeps it), a room
 * topic never equals a namespace topic.
 */
import { heapStats } from "bun:jsc";
import { expect, test } from "bun:test";
import { namespaceTopic, roomTopic } from "../../../protocol/adapter/topics.ts";

function liveStrings(): number {
  Bun.gc(true);
  return heapStats().objectTypeCounts.string ?? 0;
}

test("a namespace's topic is built once and shared, not copied for each session", () => {
  const name = `/shared-${Math.random()}`;
  const first = namespaceTopic(name);
  const before = liveStrings();
  const kept = Array.from({ length: 5000 }, () => namespaceTopic(name));
  const grown = liveStrings() - before;
  expect(kept.every((t) => t === first)).toBe(true);
  // 5,000 copies would be 5,000 more strings; a shared one adds none (a little slack for the runtime).
  expect(grown).toBeLessThan(500);
});

test("room and namespace topics stay apart", () => {
  expect(namespaceTopic("/")).toBe("/\x1d");
  expect(roomTopic("/", "")).not.toBe(namespaceTopic("/"));
  expect(roomTopic("/a", "b")).toBe("/a\x1fb");
});
