/**
 * A Buffer view of a Uint8Array without copying: what the Redis and PostgreSQL clients and
 * notepack.io take for binary payloads.
 */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
