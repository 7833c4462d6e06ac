/**
 * Which media Switchboard stores: the types WhatsApp Cloud API itself supports for images, audio,
 * video, stickers and documents, and no larger than MEDIA_MAX_BYTES. Anything else is refused before
 * it is stored (a fetched file of another type fails its job with `media_type_refused`).
 */
export const ALLOWED_MEDIA_TYPES: ReadonlySet<string> = new Set([
  "image/jpeg",
  "image/png",
  "image/webp",
  "audio/aac",
  "audio/amr",
  "audio/mpeg",
  "audio/mp4",
  "audio/ogg",
  "video/mp4",
  "video/3gpp",
  "text/plain",
  "application/pdf",
  "application/msword",
  "application/vnd.ms-excel",
  "application/vnd.ms-powerpoint",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation",
]);

export const MEDIA_ERROR_CODES = {
  tooLarge: "media_too_large",
  typeRefused: "media_type_refused",
  unsupported: "media_unsupported",
  /** A message names a media file that is missing, not ready, or another conversation's. */
  unavailable: "media_unavailable",
} as const;

/** The bare MIME type ("audio/ogg; codecs=opus" → "audio/ogg"), lower-cased. */
export function baseMimeType(value: string | null | undefined): string {
  return (value ?? "").split(";")[0]!.trim().toLowerCase();
}

export function isAllowedMediaType(value: string | null | undefined): boolean {
  return ALLOWED_MEDIA_TYPES.has(baseMimeType(value));
}
