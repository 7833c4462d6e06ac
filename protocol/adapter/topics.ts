/**
 * Engine pub/sub topic names. A broadcast to one room (or to a whole namespace) is one native
 * publish on its topic. The separators are control characters that cannot clash with a namespace
 * name (which starts with "/") nor make a room topic equal a namespace topic.
 */

/**
 * Namespace topics already built. Every connected session keeps its namespace's topic (its one
 * subscription while it is in no other room): one shared string per namespace instead of a copy
 * per session. Bounded, since dynamic namespaces can be many: past the bound, topics are built anew.
 */
const namespaceTopics = new Map<string, string>();
const MAX_CACHED_NAMESPACE_TOPICS = 1024;

/** Topic every socket of a namespace subscribes to while connected. */
export function namespaceTopic(nsp: string): string {
  let topic = namespaceTopics.get(nsp);
  if (topic === undefined) {
    topic = `${nsp}\x1d`;
    if (namespaceTopics.size < MAX_CACHED_NAMESPACE_TOPICS) namespaceTopics.set(nsp, topic);
  }
  return topic;
}

/** Topic of one room of a namespace (not used for a socket's own-id room, which is a direct send). */
export function roomTopic(nsp: string, room: string): string {
  return `${nsp}\x1f${room}`;
}
