/** The service-window refusal as the HTTP API answers it (rule: src/services/service-window.ts). */
import type { Database } from "../../db/client.ts";
import type { ConversationRow } from "../../db/schema.ts";
import { checkServiceWindow } from "../services/service-window.ts";
import type { MessageType } from "../shared/events.ts";
import { HTTP_ERROR_CODES, HttpError } from "./errors.ts";

/** Throws 409 `outside_service_window` when a message of `messageType` may not be sent now. */
export async function requireServiceWindow(
  db: Database,
  conversation: ConversationRow,
  messageType: MessageType,
): Promise<void> {
  const verdict = await checkServiceWindow(db, conversation, messageType);
  if (verdict.allowed) return;
  throw new HttpError(
    409,
    HTTP_ERROR_CODES.outsideServiceWindow,
    verdict.expiredAt
      ? `the 24-hour customer service window closed at ${verdict.expiredAt.toISOString()}; only a template message can be sent`
      : "the contact has not written yet, so no customer service window is open; only a template message can be sent",
  );
}
