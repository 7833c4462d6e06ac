/** An organization with one contact and its conversation: the rows most repository tests start from. */
import type { Database } from "../../db/client.ts";
import { contacts, conversations, organizations } from "../../db/schema.ts";

export interface ConversationFixture {
  orgId: string;
  contactId: string;
  conversationId: string;
}

/** A new conversation, in `orgId` or in a new organization (with `phoneNumberId`, its WhatsApp number). */
export async function createConversation(
  db: Database,
  options: { orgId?: string; phoneNumberId?: string; whatsappId?: string } = {},
): Promise<ConversationFixture> {
  const orgId = options.orgId ?? (await newOrganization(db, options.phoneNumberId));
  const [contact] = await db
    .insert(contacts)
    .values({
      organizationId: orgId,
      whatsappId: options.whatsappId ?? `49${crypto.randomUUID().slice(0, 8)}`,
    })
    .returning();
  const [conversation] = await db
    .insert(conversations)
    .values({ organizationId: orgId, contactId: contact!.id })
    .returning();
  return { orgId, contactId: contact!.id, conversationId: conversation!.id };
}

async function newOrganization(db: Database, phoneNumberId: string | undefined): Promise<string> {
  const [org] = await db
    .insert(organizations)
    .values({ name: "Acme", whatsappPhoneNumberId: phoneNumberId ?? null })
    .returning();
  return org!.id;
}
