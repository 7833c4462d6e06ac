/**
 * Connection-state recovery kept in Redis, for the classic and the sharded adapter: per namespace,
 * one stream holds the recoverable broadcasts (its entry ids are the offsets, as socket.io's
 * redis-streams-adapter uses them) and one key per disconnected session holds its id, pid, rooms
 * and data (msgpack, `PX` = `maxDisconnectionDuration`).
 *
 * A broadcast is logged and published by one script, so the stream and the channel have one
 * order: XADD gives the id, the script writes it into the message (the adapter encoded it around a
 * placeholder, see `splitAtPlaceholder`) and PUBLISHes (or SPUBLISHes) it. Every node therefore
 * receives the namespace's recoverable broadcasts in offset order, and no node can deliver one
 * that is not yet in the log. Entries older than the window are trimmed (`MINID`), so are those
 * beyond `maxStoredPackets` (`MAXLEN`), and the stream expires when the namespace is silent for a
 * whole window.
 *
 * All keys of a namespace carry its channel as hash tag (`{socket.io#/#}…`), which puts them in
 * the slot of the channel itself on a Redis Cluster: one script may touch them and SPUBLISH.
 */
import { randomBytes } from "node:crypto";
import { decode as msgpackDecode, encode as msgpackEncode } from "notepack.io";
import type { LoggedBroadcast, OffsetOrder, RecoveryStore, StoredState } from "../cluster/recovery.ts";

export { isRecoverable } from "../cluster/recovery.ts";

import type { SessionToPersist } from "../types.ts";

/** What the store needs of a Redis connection: EVAL with binary arguments and replies (Buffers). */
export interface ScriptRunner {
  evalScript(script: string, keys: string[], args: (string | Buffer)[]): Promise<unknown>;
}

/** How the adapter's messages are written: msgpack or JSON (the offset is a string either way). */
export type MessageFormat = "msgpack" | "json";

/** Reads a logged message back: its arguments and audience, or null when it is not a broadcast. */
export type BroadcastDecoder = (bytes: Buffer) => Omit<LoggedBroadcast, "offset"> | null;

/** Redis stream ids: `<ms>-<seq>`. */
const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;

export const streamIdOrder: OffsetOrder = {
  isOffset: (value: unknown): value is string => typeof value === "string" && STREAM_ID.test(value),
  compare(a, b) {
    const [, aMs = "0", aSeq = "0"] = STREAM_ID.exec(a) ?? [];
    const [, bMs = "0", bSeq = "0"] = STREAM_ID.exec(b) ?? [];
    const ms = BigInt(aMs) - BigInt(bMs);
    if (ms !== 0n) return ms < 0n ? -1 : 1;
    const seq = BigInt(aSeq) - BigInt(bSeq);
    return seq === 0n ? 0 : seq < 0n ? -1 : 1;
  },
};

const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS[1] the log; ARGV: channel, head, tail, window (ms), "msgpack" | "json", PUBLISH | SPUBLISH,
 * most entries kept.
 * Returns the entry id (the offset).
 */
const APPEND = `${NOW_MS}
local window = tonumber(ARGV[4])
local id = redis.call('XADD', KEYS[1], 'MINID', '~', string.format('%.0f', now - window), '*', 'h', ARGV[2], 't', ARGV[3], 'f', ARGV[5])
local encoded
if ARGV[5] == 'json' then encoded = '"' .. id .. '"'
elseif #id < 32 then encoded = string.char(0xa0 + #id) .. id
else encoded = string.char(0xd9, #id) .. id end
if ARGV[7] ~= '' then redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[7]) end
redis.call(ARGV[6], ARGV[1], ARGV[2] .. encoded .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return id`;

/**
 * KEYS[1] the log, KEYS[2] the session; ARGV: offset, window (ms). Takes the session; returns
 * {0} (no session), {1} (offset unknown or older than the window) or {2, session, entries}.
 */
const RESTORE = `local session = redis.call('GETDEL', KEYS[2])
if not session then return {0} end
${NOW_MS}
local ms = tonumber(string.match(ARGV[1], '^(%d+)-'))
local entries = redis.call('XRANGE', KEYS[1], ARGV[1], '+')
if entries[1] == nil or entries[1][1] ~= ARGV[1] or ms < now - tonumber(ARGV[2]) then return {1} end
table.remove(entries, 1)
return {2, session, entries}`;

/** KEYS: session keys; ARGV: ttl (ms), then one value per key. */
const SAVE = `for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[i + 1], 'PX', ARGV[1]) end
return #KEYS`;

const DROP = `return redis.call('DEL', KEYS[1])`;

/** Sessions written per script call (one slot, but a bounded command size). */
const SAVE_BATCH = 500;

export interface RedisRecoveryOptions {
  /** The namespace's channel (`<prefix>#<nsp>#`): the broadcasts' channel and the keys' hash tag. */
  channel: string;
  /** `PUBLISH` (classic Redis) or `SPUBLISH` (Redis Cluster, sharded pub/sub). */
  publishCommand: "PUBLISH" | "SPUBLISH";
  /** `maxDisconnectionDuration`, in ms. */
  window: number;
  /** `maxStoredPackets`: the log keeps at most this many broadcasts (the oldest go first). */
  maxEntries: number;
  decode: BroadcastDecoder;
}

export class RedisRecoveryStore implements RecoveryStore {
  readonly logKey: string;
  private readonly sessionPrefix: string;

  constructor(
    private readonly redis: ScriptRunner,
    private readonly options: RedisRecoveryOptions,
  ) {
    const tag = hashTagOf(options.channel);
    this.logKey = `${tag}recovery-log`;
    this.sessionPrefix = `${tag}recovery-session:`;
  }

  /** Logs and publishes a message split around its offset; resolves with the offset. */
  async append(head: Buffer, tail: Buffer, format: MessageFormat): Promise<string> {
    const { channel, window, publishCommand } = this.options;
    const id = await this.redis.evalScript(
      APPEND,
      [this.logKey],
      [channel, head, tail, String(window), format, publishCommand, maxEntriesArg(this.options.maxEntries)],
    );
    return String(id);
  }

  async restore(pid: string, offset: string): Promise<StoredState> {
    const reply = (await this.redis.evalScript(
      RESTORE,
      [this.logKey, this.sessionKey(pid)],
      [offset, String(this.options.window)],
    )) as [number, Buffer?, [Buffer, Buffer[]][]?];
    if (reply[0] === 0) return { found: "no-session" };
    if (reply[0] === 1 || !reply[1]) return { found: "no-offset" };
    const session = msgpackDecode(reply[1]) as SessionToPersist;
    const broadcasts: LoggedBroadcast[] = [];
    for (const [rawId, fields] of reply[2] ?? []) {
      const id = rawId.toString();
      const head = fieldOf(fields, "h");
      const tail = fieldOf(fields, "t");
      if (!head || !tail) continue;
      const format = fieldOf(fields, "f")?.toString() === "json" ? "json" : "msgpack";
      const decoded = this.options.decode(Buffer.concat([head, encodeOffset(id, format), tail]));
      if (decoded) broadcasts.push({ offset: id, ...decoded });
    }
    return { found: "ok", session, broadcasts };
  }

  async saveSessions(sessions: SessionToPersist[]): Promise<void> {
    for (let i = 0; i < sessions.length; i += SAVE_BATCH) {
      const batch = sessions.slice(i, i + SAVE_BATCH);
      await this.redis.evalScript(
        SAVE,
        batch.map((s) => this.sessionKey(s.pid)),
        [String(this.options.window), ...batch.map((s) => Buffer.from(msgpackEncode(s)))],
      );
    }
  }

  async dropSession(pid: string): Promise<void> {
    await this.redis.evalScript(DROP, [this.sessionKey(pid)], []);
  }

  private sessionKey(pid: string): string {
    return `${this.sessionPrefix}${pid}`;
  }
}

/**
 * `{channel}`: a hash tag whose slot is the channel's own. A channel that already holds a tag is
 * hashed by it, so the keys start with the channel itself; a `}` without a tag cannot be put in one.
 */
function hashTagOf(channel: string): string {
  const open = channel.indexOf("{");
  const close = open === -1 ? -1 : channel.indexOf("}", open + 1);
  if (open !== -1 && close > open + 1) return channel;
  if (channel.includes("}"))
    throw new Error(`recovery: the channel ${channel} has a "}" outside a hash tag; choose another prefix`);
  return `{${channel}}`;
}

/** No count bound (an infinite `maxStoredPackets`) is an empty argument. */
function maxEntriesArg(maxEntries: number): string {
  return Number.isFinite(maxEntries) && maxEntries > 0 ? String(Math.floor(maxEntries)) : "";
}

function fieldOf(fields: Buffer[], name: string): Buffer | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]?.toString() === name) return fields[i + 1];
  return undefined;
}

/** The offset string as the format writes it (what the append script writes). */
function encodeOffset(id: string, format: MessageFormat): Buffer {
  if (format === "json") return Buffer.from(JSON.stringify(id));
  const bytes = Buffer.from(id);
  return Buffer.concat([
    Buffer.from(bytes.length < 32 ? [0xa0 + bytes.length] : [0xd9, bytes.length]),
    bytes,
  ]);
}

const PLACEHOLDER = `\u0000sb-offset-${randomBytes(6).toString("hex")}\u0000`;

/** The string a message is encoded with in place of its offset (unguessable, under 32 bytes). */
export function recoveryPlaceholder(): string {
  return PLACEHOLDER;
}

/**
 * A message encoded with `placeholder` as the broadcast's last argument, split around it: the
 * append script puts the offset between the two halves.
 */
export function splitAtPlaceholder(
  encoded: Uint8Array | string,
  placeholder: string,
  format: MessageFormat,
): [Buffer, Buffer] | null {
  const bytes = typeof encoded === "string" ? Buffer.from(encoded) : Buffer.from(encoded);
  const marker =
    format === "json" ? Buffer.from(JSON.stringify(placeholder)) : encodeOffset(placeholder, format);
  const at = bytes.lastIndexOf(marker);
  if (at === -1) return null;
  return [bytes.subarray(0, at), bytes.subarray(at + marker.length)];
}
