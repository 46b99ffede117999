/** Media types of request bodies: the essence of a Content-Type and the parser it selects. */
import { isUtf8 } from 'node:buffer';

export type BodyKind = 'json' | 'form' | 'multipart' | 'text' | 'other';

/** Lowercase `type/subtype` without parameters; '' when absent or not a media type. */
export function mediaTypeOf(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semi = contentType.indexOf(';');
  const essence = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(essence) || essence === '*/*' ? essence : '';
}

/** Which parser a media type selects: JSON for application/json and any `+json` type. */
export function bodyKind(mediaType: string): BodyKind {
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) return 'json';
  if (mediaType === 'application/x-www-form-urlencoded') return 'form';
  if (mediaType === 'multipart/form-data') return 'multipart';
  if (mediaType === 'text/plain') return 'text';
  return 'other';
}

/** The charset parameter, lowercased, or null. */
export function charsetOf(contentType: string | undefined): string | null {
  if (contentType === undefined) return null;
  const m = /;\s*charset="?([A-Za-z0-9._-]+)"?/i.exec(contentType);
  return m ? (m[1] ?? '').toLowerCase() : null;
}

export type TextResult = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly code: 'malformed'; readonly reason: string };

/** A text/plain body: UTF-8 (or US-ASCII) only. */
export function parseText(buf: Buffer): TextResult {
  if (!isUtf8(buf)) return { ok: false, code: 'malformed', reason: 'body is not valid UTF-8' };
  return { ok: true, value: buf.toString('utf8') };
}
