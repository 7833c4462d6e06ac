/** Random ids for sockets and recovery sessions: 15 random bytes as 20 url-safe characters (as base64id). */
import { randomBytes } from "node:crypto";

export function generateId(): string {
  return randomBytes(15).toString("base64url");
}
