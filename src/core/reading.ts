/**
 * The types of the gateway's one reading of a request (docs/security-model.md): its media type,
 * its query pairs and its body as every stage reads them. The readers that produce them live in
 * src/body/; the request context carries the results.
 */
import type { Buffer } from 'node:buffer';
import type { Deny } from './decision.js';

/** Which body parser a media type selects. */
export type BodyKind = 'json' | 'ndjson' | 'form' | 'multipart' | 'text' | 'xml' | 'other';

/** A Content-Type read to the RFC 9110 grammar. */
export interface MediaType {
  /** lowercase `type/subtype` */
  readonly essence: string;
  /** parameters by lowercase name; the charset value is lowercase, `utf8` read as `utf-8` */
  readonly params: ReadonlyMap<string, string>;
  /** the serialisation forwarded upstream: lowercase names, values quoted only when needed */
  readonly canonical: string;
  /** which body parser reads it */
  readonly kind: BodyKind;
}

/** One decoded name/value pair of a query string or urlencoded form, in request order. */
export type Pair = readonly [name: string, value: string];

export type FormValue = string | string[];
/** Pairs grouped by name (null-prototype); repeated names become arrays in order. */
export type FormRecord = Record<string, FormValue>;

/** One part of a multipart body as read: its field name, file names, Content-Type and content. */
export interface MultipartPart {
  readonly name: string;
  /** empty for a field; `filename*` (which RFC 8187 readers prefer) first when both are given */
  readonly filenames: readonly string[];
  /** the part's Content-Type as sent, or null */
  readonly contentType: string | null;
  /** UTF-8 text of a field; the bytes of a file as a latin1 string */
  readonly value: string;
}

/** A body as every stage reads it. */
export type BodyReading =
  | { readonly kind: 'json'; readonly value: unknown }
  /** one value per non-empty line */
  | { readonly kind: 'ndjson'; readonly values: readonly unknown[] }
  | { readonly kind: 'form'; readonly pairs: readonly Pair[]; readonly value: FormRecord }
  | { readonly kind: 'multipart'; readonly parts: readonly MultipartPart[]; readonly value: FormRecord; readonly files: ReadonlySet<string> }
  | { readonly kind: 'text' | 'xml'; readonly text: string }
  /** opaque bytes (no Content-Type, or one no parser reads) */
  | { readonly kind: 'other' };

/** The body as every stage reads it (decoded from its Content-Encoding when allowed), or the refusal that stands for it. */
export type BodyStep =
  | { readonly ok: true; readonly body: Buffer; readonly decoded: boolean; readonly reading: BodyReading }
  | { readonly ok: false; readonly deny: Deny };
