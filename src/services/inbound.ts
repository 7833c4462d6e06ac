/**
 * Applying what the channel reports (the WhatsApp webhook, or the sandbox): inbound messages and
 * status updates, item by item. A batch with messages runs in ONE transaction (serialized by an
 * advisory lock: contact/conversation creation and dedup checks must not interleave) with a
 * savepoint per item, so an item the database refuses is rolled back alone and its neighbours are
 * still stored; a batch of statuses only needs no transaction (each status change is one guarded
 * statement, and the sent/delivered/read reports of a batch share one). Items set aside (malformed
 * in the payload, or refused by the database) are logged without their text and reported to
 * `onRejected` (the /metrics counter). Only an unreachable
 * database fails the whole batch (the provider retries it). Events are published in order only
 * after everything is stored. Idempotent by WhatsApp message id: a retried webhook stores and emits
 * nothing new. Statuses of one message in a batch are coalesced into the furthest one.
 */

import { desc, eq, sql } from "drizzle-orm";
import type { Database, Tx } from "../../db/client.ts";
import { isDatabaseUnavailable } from "../../db/errors.ts";
import { rowsOf } from "../../db/raw-rows.ts";
import { contacts, conversations, messages, organizations } from "../../db/schema.ts";
import { createLogger } from "../../protocol/logger.ts";
import type { StatusReport } from "../channels/channel.ts";
import { planInboundMedia } from "../media/inbound.ts";
import type { MessageContent, MessageType, Uuid } from "../shared/events.ts";
import { reopenOnInbound } from "./lifecycle.ts";
import { toConversation, toMessage } from "./mappers.ts";
import { furthest } from "./message-status.ts";
import {
  advanceStatus,
  type BatchedStatus,
  batchedGuardSql,
  batchedMatchSql,
  batchedStampsSql,
  insertMessage,
} from "./messages.ts";
import type { ChatEvent, ChatNotifier } from "./notifier.ts";

const log = createLogger("inbound");

/** Serializes batches: contact/conversation creation and dedup checks must not interleave. */
const INGEST_LOCK_KEY = 0x5b_0a_7d_01;

export interface InboundMessage {
  /** The business number that received it (routes it to an organization). */
  phoneNumberId: string;
  whatsappMessageId: string;
  /** Sender's WhatsApp id. */
  from: string;
  contactName?: string | undefined;
  at: Date;
  messageType: MessageType;
  content: MessageContent;
}

/** Why an item of a batch was set aside. Stable values: they are the /metrics `reason` label. */
export type RejectReason =
  | "not_an_object"
  | "missing_id"
  | "missing_from"
  | "missing_phone_number_id"
  | "invalid_timestamp"
  | "unsupported_status"
  | "unknown_phone_number_id"
  | "storage_error";

/** An item of a batch that was not applied: where it was, and why (never its text). */
export interface RejectedItem {
  kind: "message" | "status" | "change";
  /** Its place in the payload, e.g. `entry[0].changes[0].value.messages[2]`. */
  where: string;
  reason: RejectReason;
  whatsappMessageId?: string;
}

export interface InboundBatch {
  messages: InboundMessage[];
  statuses: StatusReport[];
  /** Items the parser already set aside (counted and logged with the storage rejections). */
  rejected?: RejectedItem[];
}

export interface IngestResult {
  events: ChatEvent[];
  storedMessages: number;
  duplicateMessages: number;
  appliedStatuses: number;
  ignoredStatuses: number;
  rejected: RejectedItem[];
}

/** What one item did, applied to the result only once its savepoint is released. */
type ItemOutcome =
  | { kind: "stored"; events: ChatEvent[] }
  | { kind: "duplicate" }
  | { kind: "unrouted" }
  | { kind: "applied"; events: ChatEvent[] }
  | { kind: "ignored"; orphan: StatusReport | null };

/**
 * Reports about a channel id not stored yet (the provider's webhook can beat the answer of the send
 * request that tells us the id) are kept this long, then dropped.
 */
export const ORPHAN_TTL_MS = 60_000;
const MAX_ORPHANS = 10_000;

export class InboundService {
  readonly #orphans = new Map<string, { report: StatusReport; expires: number }>();

  constructor(
    private readonly db: Database,
    private readonly notifier: ChatNotifier,
    /** Called once per item set aside (the /metrics counter). */
    private readonly onRejected: (item: RejectedItem) => void = () => {},
  ) {}

  /** The channel id of an outbound message is now stored: applies reports that arrived before it. */
  async replay(whatsappMessageId: string): Promise<void> {
    const orphan = this.#orphans.get(whatsappMessageId);
    if (!orphan) return;
    this.#orphans.delete(whatsappMessageId);
    if (orphan.expires > Date.now()) await this.ingest({ messages: [], statuses: [orphan.report] });
  }

  /** How many early reports are waiting for their message's channel id (tests, diagnostics). */
  get orphanCount(): number {
    return this.#orphans.size;
  }

  async #recheck(whatsappMessageId: string): Promise<void> {
    try {
      const [known] = await this.db
        .select({ id: messages.id })
        .from(messages)
        .where(eq(messages.whatsappMessageId, whatsappMessageId))
        .limit(1);
      if (known) await this.replay(whatsappMessageId);
    } catch (err) {
      log.warn("could not re-check an early status report", {
        whatsapp_message_id: whatsappMessageId,
        error: err,
      });
    }
  }

  #keepOrphan(report: StatusReport): void {
    const now = Date.now();
    if (this.#orphans.size >= MAX_ORPHANS)
      for (const [id, o] of this.#orphans)
        if (o.expires <= now || this.#orphans.size >= MAX_ORPHANS) this.#orphans.delete(id);
    const prev = this.#orphans.get(report.whatsappMessageId)?.report;
    const merged = prev ? (coalesce([prev, report])[0] ?? report) : report;
    this.#orphans.set(report.whatsappMessageId, { report: merged, expires: now + ORPHAN_TTL_MS });
  }

  async ingest(batch: InboundBatch): Promise<IngestResult> {
    const orphans: StatusReport[] = [];
    const apply = async (tx: Database | Tx, inTransaction: boolean) => {
      if (batch.messages.length > 0) await tx.execute(sql`SELECT pg_advisory_xact_lock(${INGEST_LOCK_KEY})`);
      const out: IngestResult = {
        events: [],
        storedMessages: 0,
        duplicateMessages: 0,
        appliedStatuses: 0,
        ignoredStatuses: 0,
        rejected: [...(batch.rejected ?? [])],
      };
      const orgs = new Map<string, Uuid | null>();
      // Per item: a savepoint inside the batch's transaction, else the item's own statement.
      const isolated = async (
        item: Omit<RejectedItem, "reason">,
        work: (q: Database | Tx) => Promise<ItemOutcome>,
      ) => {
        let outcome: ItemOutcome;
        try {
          outcome = inTransaction ? await tx.transaction(work) : await work(tx);
        } catch (err) {
          if (isDatabaseUnavailable(err)) throw err;
          log.warn("inbound item refused by the database: skipped", { ...item, error: errorSummary(err) });
          out.rejected.push({ ...item, reason: "storage_error" });
          return;
        }
        if (outcome.kind === "stored") {
          out.storedMessages++;
          out.events.push(...outcome.events);
        } else if (outcome.kind === "duplicate") out.duplicateMessages++;
        else if (outcome.kind === "applied") {
          out.appliedStatuses++;
          out.events.push(...outcome.events);
        } else if (outcome.kind === "ignored") {
          out.ignoredStatuses++;
          if (outcome.orphan) orphans.push(outcome.orphan);
        } else if (outcome.kind === "unrouted") {
          // No organization has this business number: counted, so a misconfiguration shows on /metrics.
          out.rejected.push({ ...item, reason: "unknown_phone_number_id" });
        }
      };
      for (const [i, m] of batch.messages.entries())
        await isolated(
          { kind: "message", where: `messages[${i}]`, whatsappMessageId: m.whatsappMessageId },
          (q) => this.#storeMessage(q, m, orgs),
        );
      const statuses = coalesce(batch.statuses);
      // Outside a transaction, the sent/delivered/read reports go in one statement; those it did not
      // apply (unknown ids, late reports) and any group the database refused take the item path.
      const done = inTransaction ? new Set<number>() : await this.#applyGrouped(tx, statuses, out);
      for (const [i, report] of statuses.entries())
        if (!done.has(i))
          await isolated(
            { kind: "status", where: `statuses[${i}]`, whatsappMessageId: report.whatsappMessageId },
            (q) => this.#applyStatus(q, report),
          );
      return out;
    };
    // Messages need the lock and one transaction (contact/conversation creation, dedup). A batch of
    // statuses only does not: each status UPDATE is atomic and guarded by the statuses it may come
    // from, so concurrent batches cannot regress a message, and the sandbox's ticks (3 per outbound
    // message) no longer queue behind one global lock with BEGIN/COMMIT round trips.
    const result =
      batch.messages.length > 0
        ? await this.db.transaction((tx) => apply(tx, true))
        : await apply(this.db, false);
    for (const item of batch.rejected ?? []) log.warn("malformed inbound item: skipped", { ...item });
    for (const item of result.rejected) this.onRejected(item);
    for (const report of orphans) {
      this.#keepOrphan(report);
      // The id may have been stored while this batch ran (after our lookup): then apply it now.
      void this.#recheck(report.whatsappMessageId);
    }
    if (result.events.length > 0) this.notifier.publish(result.events, performance.now());
    return result;
  }

  /**
   * The sent/delivered/read reports of a batch in ONE guarded UPDATE (each row only forward, as
   * advanceStatus). Returns the indexes applied; their events are added to `out`.
   */
  async #applyGrouped(db: Database | Tx, statuses: StatusReport[], out: IngestResult): Promise<Set<number>> {
    const done = new Set<number>();
    const items = [...statuses.entries()].filter(([, r]) => isGrouped(r.status));
    if (items.length === 0) return done;
    let rows: { id: string; conversation_id: string; wamid: string }[];
    try {
      rows = rowsOf(
        await db.execute(
          groupedAdvance(
            JSON.stringify(
              items.map(([, r]) => ({
                wamid: r.whatsappMessageId,
                status: r.status,
                at: r.at.toISOString(),
              })),
            ),
          ),
        ),
      );
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw err;
      return done;
    }
    const applied = new Map(rows.map((row) => [row.wamid, row]));
    for (const [i, report] of items) {
      const row = applied.get(report.whatsappMessageId);
      if (!row) continue;
      done.add(i);
      out.appliedStatuses++;
      out.events.push({
        kind: "message:status",
        status: {
          message_id: row.id,
          conversation_id: row.conversation_id,
          status: report.status,
          timestamp: report.at.toISOString(),
        },
      });
    }
    return done;
  }

  async #applyStatus(tx: Database | Tx, report: StatusReport): Promise<ItemOutcome> {
    const row = await advanceStatus(
      tx,
      { whatsappMessageId: report.whatsappMessageId },
      {
        status: report.status,
        at: report.at,
        errorCode: report.errorCode ?? null,
        errorMessage: report.errorMessage ?? null,
      },
    );
    if (!row) {
      const [known] = await tx
        .select({ id: messages.id })
        .from(messages)
        .where(eq(messages.whatsappMessageId, report.whatsappMessageId))
        .limit(1);
      return { kind: "ignored", orphan: known ? null : report };
    }
    return {
      kind: "applied",
      events: [
        {
          kind: "message:status",
          status: {
            message_id: row.id,
            conversation_id: row.conversationId,
            status: row.status,
            timestamp: report.at.toISOString(),
            ...(row.status === "failed"
              ? { error_code: row.errorCode ?? undefined, error_message: row.errorMessage ?? undefined }
              : {}),
          },
        },
      ],
    };
  }

  async #storeMessage(
    tx: Database | Tx,
    m: InboundMessage,
    orgs: Map<string, Uuid | null>,
  ): Promise<ItemOutcome> {
    const [dup] = await tx
      .select({ id: messages.id })
      .from(messages)
      .where(eq(messages.whatsappMessageId, m.whatsappMessageId))
      .limit(1);
    if (dup) return { kind: "duplicate" };
    let orgId = orgs.get(m.phoneNumberId);
    if (orgId === undefined) {
      const [org] = await tx
        .select({ id: organizations.id })
        .from(organizations)
        .where(eq(organizations.whatsappPhoneNumberId, m.phoneNumberId))
        .limit(1);
      orgId = org?.id ?? null;
      orgs.set(m.phoneNumberId, orgId);
    }
    if (!orgId) {
      log.warn("inbound message for an unknown phone number id: ignored", {
        phone_number_id: m.phoneNumberId,
      });
      return { kind: "unrouted" };
    }
    const [contact] = await tx
      .insert(contacts)
      .values({ organizationId: orgId, whatsappId: m.from, name: m.contactName ?? null })
      .onConflictDoUpdate({
        target: [contacts.organizationId, contacts.whatsappId],
        set: { name: sql`COALESCE(EXCLUDED.name, ${contacts.name})` },
      })
      .returning();
    // The contact's conversation; a resolved one is reopened (docs/team-inbox.md), never duplicated.
    let [conversation] = await tx
      .select()
      .from(conversations)
      .where(eq(conversations.contactId, contact!.id))
      .orderBy(desc(conversations.createdAt))
      .limit(1);
    const reopened: ChatEvent[] =
      conversation?.status === "resolved" ? await reopenOnInbound(tx as Tx, conversation, contact!) : [];
    if (!conversation) {
      [conversation] = await tx
        .insert(conversations)
        .values({ organizationId: orgId, contactId: contact!.id, status: "queued" })
        .returning();
    }
    // An attachment is fetched by the outbox worker; the message points at Switchboard's copy.
    const attachment = planInboundMedia(m.content);
    const stored = await insertMessage(tx, {
      conversationId: conversation!.id,
      organizationId: orgId,
      direction: "inbound",
      senderType: "contact",
      messageType: m.messageType,
      content: attachment?.content ?? m.content,
      status: "delivered",
      whatsappMessageId: m.whatsappMessageId,
      createdAt: m.at,
    });
    await attachment?.register(tx, {
      organizationId: orgId,
      conversationId: conversation!.id,
      messageId: stored.message.id,
    });
    return {
      kind: "stored",
      events: [
        ...reopened,
        { kind: "message:new", message: toMessage(stored.message) },
        { kind: "conversation:updated", conversation: toConversation(stored.conversation, contact!) },
      ],
    };
  }
}

/** One report per message: the furthest status, with the latest timestamp among the reports. */
export function coalesce(reports: readonly StatusReport[]): StatusReport[] {
  const byId = new Map<string, StatusReport>();
  for (const r of reports) {
    const prev = byId.get(r.whatsappMessageId);
    if (!prev) {
      byId.set(r.whatsappMessageId, r);
      continue;
    }
    const status = furthest(prev.status, r.status) as StatusReport["status"];
    const winner = status === r.status ? r : prev;
    byId.set(r.whatsappMessageId, { ...winner, at: prev.at.getTime() > r.at.getTime() ? prev.at : r.at });
  }
  return [...byId.values()];
}

/** The statuses a batch applies in one statement ("failed" carries a reason per item: one at a time). */
const GROUPED_STATUSES = ["sent", "delivered", "read"] as const satisfies readonly BatchedStatus[];
const isGrouped = (status: StatusReport["status"]): status is (typeof GROUPED_STATUSES)[number] =>
  (GROUPED_STATUSES as readonly string[]).includes(status);

/** One UPDATE moving every listed message (channel id, status, time) forward; each step's time set once. */
function groupedAdvance(items: string) {
  return sql`
    WITH v AS (
      SELECT * FROM jsonb_to_recordset(${items}::jsonb) AS v(wamid text, status message_status, at timestamptz)
    )
    UPDATE messages AS m SET status = v.status, ${batchedStampsSql(GROUPED_STATUSES)}
      FROM v
     WHERE ${batchedMatchSql("whatsapp_message_id", "wamid")} AND ${batchedGuardSql(GROUPED_STATUSES)}
    RETURNING m.id, m.conversation_id, v.wamid`;
}

/** A database error for the log: its SQLSTATE and message, never the statement's parameters (the text). */
function errorSummary(err: unknown): { code?: string; message: string } {
  for (
    let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, d = 0;
    e && d < 5;
    d++
  ) {
    if (typeof e.code === "string") return { code: e.code, message: String(e.message) };
    e = e.cause as typeof e;
  }
  return { message: err instanceof Error ? err.name : "unknown error" };
}
