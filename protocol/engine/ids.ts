/** Session ids like engine.io's base64id: 15 random bytes, base64url, 20 URL-safe characters. */
import { randomBytes } from "node:crypto";

const ID_BYTES = 15;

export function generateSessionId(): string {
  return randomBytes(ID_BYTES).toString("base64url");
}
