/**
 * Engine pub/sub topic names. A broadcast to one room (or to a whole namespace) is one native
 * publish on its topic. The separators are control characters that cannot clash with a namespace
 * name (which starts with "/") nor make a room topic equal a namespace topic.
 */

/** Topic every socket of a namespace subscribes to while connected. */
export function namespaceTopic(nsp: string): string {
  return `${nsp}\x1d`;
}

/** Topic of one room of a namespace (not used for a socket's own-id room, which is a direct send). */
export function roomTopic(nsp: string, room: string): string {
  return `${nsp}\x1f${room}`;
}
