/**
 * A counter of event-loop turns in which something was written. engine.io's websocket transport is
 * not writable from a send until `ws` calls back, which is a later turn of the event loop, and a
 * volatile packet is dropped while it is not writable. Bun's `send` is synchronous, so the turn of
 * the last write stands in for that callback: a transport written in the current turn is busy.
 */
let current = 0;
let endScheduled = false;

function endTurn(): void {
  current++;
  endScheduled = false;
}

/** Records a write in this turn and returns the turn's number (one `setImmediate` per busy turn). */
export function markWrite(): number {
  if (!endScheduled) {
    endScheduled = true;
    setImmediate(endTurn);
  }
  return current;
}

/** The current turn's number, to compare with what `markWrite` returned. */
export function currentTurn(): number {
  return current;
}
