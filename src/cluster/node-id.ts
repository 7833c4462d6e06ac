/**
 * A node's identity, and session ids that name their owner: `<nodeId>.<random>`. Any node that
 * receives a polling request for a session it does not hold reads the owner from the id and
 * forwards the request there (see forwarder.ts), so a plain round-robin balancer works.
 *
 * base64url never contains ".", so the separator is unambiguous, and the id stays URL-safe.
 */
import { randomBytes } from "node:crypto";

const SEPARATOR = ".";
const NODE_ID_BYTES = 6;
const SESSION_RANDOM_BYTES = 15;
const NODE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A fresh node id (8 URL-safe characters). Stable for the life of the process. */
export function generateNodeId(): string {
  return randomBytes(NODE_ID_BYTES).toString("base64url");
}

export function isValidNodeId(id: string): boolean {
  return NODE_ID_PATTERN.test(id);
}

/** The engine's `generateId`: a session id that names this node. */
export function sessionIdGenerator(nodeId: string): () => string {
  if (!isValidNodeId(nodeId)) throw new Error(`invalid node id "${nodeId}": use 1-64 of [A-Za-z0-9_-]`);
  return () => `${nodeId}${SEPARATOR}${randomBytes(SESSION_RANDOM_BYTES).toString("base64url")}`;
}

/** The node that owns a session, or null for ids that do not name one (another server's). */
export function ownerOfSession(sid: string): string | null {
  const at = sid.indexOf(SEPARATOR);
  if (at <= 0) return null;
  const owner = sid.slice(0, at);
  return isValidNodeId(owner) ? owner : null;
}
