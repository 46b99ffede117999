/**
 * One reading of a request body. The media type (read once at intake, media.ts) selects one
 * parser; the result is what every stage inspects (validation, the WAF, anything after them) and
 * the bytes it was read from are what the upstream receives. A body that cannot be read that way
 * is refused with a stable code, never passed on for the upstream to read its own way.
 */
import { isUtf8, type Buffer } from 'node:buffer';
import { parseJsonSafe, type JsonLimits, type JsonErrorCode } from './json.js';
import { parsePairs, pairsToRecord, type FormLimits } from './form.js';
import { parseMultipart, validBoundary, type MultipartLimits } from './multipart.js';
import { parseText } from './media.js';
import type { BodyReading, MediaType } from '../core/reading.js';

export interface BodyLimits {
  readonly json: JsonLimits;
  readonly form: FormLimits;
  readonly multipart: MultipartLimits;
}

/** Why a body was refused: a code shared by every stage, mapped to the error catalogue by the caller. */
export type BodyErrorCode = JsonErrorCode | 'too_many_params' | 'too_many_parts' | 'too_long';

export type BodyResult = { readonly ok: true; readonly reading: BodyReading } | { readonly ok: false; readonly code: BodyErrorCode; readonly reason: string };

const OTHER: BodyReading = Object.freeze({ kind: 'other' });

/** Reads `buf` as its media type says (null: no Content-Type, an opaque body). */
export function readBody(buf: Buffer, media: MediaType | null, limits: BodyLimits): BodyResult {
  if (media === null) return { ok: true, reading: OTHER };
  // a UTF-8 byte order mark is dropped by Node's body parsers (iconv-lite) and kept by others
  // (Werkzeug's first key starts with U+FEFF): text that starts with one has no single reading
  if (media.kind !== 'other' && buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
    return { ok: false, code: 'malformed', reason: 'body starts with a byte order mark' };
  }
  switch (media.kind) {
    case 'json': {
      const r = parseJsonSafe(buf, limits.json);
      return r.ok ? { ok: true, reading: { kind: 'json', value: r.value } } : r;
    }
    case 'ndjson':
      return readNdjson(buf, limits.json);
    case 'form': {
      if (!isUtf8(buf)) return { ok: false, code: 'malformed', reason: 'body is not valid UTF-8' };
      // pairs in order (the WAF inspects each); the record groups them (validation)
      const p = parsePairs(buf.toString('utf8'), limits.form);
      return p.ok ? { ok: true, reading: { kind: 'form', pairs: p.pairs, value: pairsToRecord(p.pairs) } } : p;
    }
    case 'multipart': {
      const boundary = validBoundary(media.params.get('boundary'));
      if (boundary === null) return { ok: false, code: 'malformed', reason: 'multipart without a valid boundary' };
      const r = parseMultipart(buf, boundary, limits.multipart);
      return r.ok ? { ok: true, reading: { kind: 'multipart', parts: r.parts, value: r.value, files: r.files } } : r;
    }
    case 'text':
    case 'xml': {
      const r = parseText(buf);
      return r.ok ? { ok: true, reading: { kind: media.kind, text: r.value } } : r;
    }
    default:
      return { ok: true, reading: OTHER };
  }
}

/** Newline-delimited JSON: each non-empty line one JSON text, read with the JSON limits. */
function readNdjson(buf: Buffer, limits: JsonLimits): BodyResult {
  if (buf.length > limits.maxBytes) return { ok: false, code: 'too_large', reason: `body of ${buf.length} bytes exceeds ${limits.maxBytes}` };
  if (!isUtf8(buf)) return { ok: false, code: 'malformed', reason: 'body is not valid UTF-8' };
  const values: unknown[] = [];
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    let line = buf.subarray(start, end);
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    // application/json-seq records start with RS (0x1e)
    if (line.length > 0 && line[0] === 0x1e) line = line.subarray(1);
    if (line.toString('latin1').trim().length > 0) {
      if (values.length >= limits.maxArrayLength) return { ok: false, code: 'array_too_long', reason: `more than ${limits.maxArrayLength} lines` };
      const r = parseJsonSafe(line, limits);
      if (!r.ok) return { ok: false, code: r.code, reason: `line ${values.length + 1}: ${r.reason}` };
      values.push(r.value);
    }
    start = end + 1;
  }
  return { ok: true, reading: { kind: 'ndjson', values } };
}
