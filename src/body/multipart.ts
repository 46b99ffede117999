/**
 * `multipart/form-data` fields (RFC 7578): each part's name and content, bounded in count and
 * size. File parts are kept as their bytes in a latin1 string (so that `maxLength` and
 * `format: binary` schemas apply) and their file name is not used. Strict framing: CRLF line
 * ends, a boundary from the Content-Type, a closing delimiter.
 */
import { isUtf8 } from 'node:buffer';
import { isForbiddenKey } from './json.js';
import type { FormRecord, MultipartPart } from '../core/reading.js';

export interface MultipartLimits {
  readonly maxParts: number;
  /** largest part content in bytes */
  readonly maxPartBytes: number;
  /** largest header block of one part */
  readonly maxPartHeaderBytes: number;
}

export const DEFAULT_MULTIPART_LIMITS: MultipartLimits = Object.freeze({ maxParts: 64, maxPartBytes: 1048576, maxPartHeaderBytes: 2048 });

export type MultipartResult =
  | { readonly ok: true; readonly value: FormRecord; readonly files: ReadonlySet<string>; readonly parts: readonly MultipartPart[] }
  | { readonly ok: false; readonly code: 'malformed' | 'too_many_parts' | 'too_long' | 'forbidden_key'; readonly reason: string };

const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{1,70}$/;

/** A multipart boundary parameter (RFC 2046 section 5.1.1), or null when it is not one. */
export function validBoundary(b: string | undefined): string | null {
  return b !== undefined && BOUNDARY.test(b) && !b.endsWith(' ') ? b : null;
}

function bad(reason: string): MultipartResult {
  return { ok: false, code: 'malformed', reason };
}

const DISPOSITION = /^content-disposition:\s*form-data\s*((?:;\s*[A-Za-z*]+="[^"]*"|;\s*[A-Za-z*]+=[^;"\s]+)*)\s*$/im;
const PARAM = /;\s*([A-Za-z*]+)=(?:"([^"]*)"|([^;"\s]+))/g;
const PART_CONTENT_TYPE = /^content-type:[ \t]*(.*?)[ \t]*$/im;
const TRANSFER_ENCODING = /^content-transfer-encoding:[ \t]*(.*?)[ \t]*$/im;
/** RFC 8187 ext-value: charset ' [language] ' value-chars */
const EXT_VALUE = /^([A-Za-z0-9!#$%&+^_`{}~-]+)'[A-Za-z0-9-]*'((?:%[0-9A-Fa-f]{2}|[A-Za-z0-9!#$&+.^_`|~-])*)$/;

/** A `filename*` value decoded (UTF-8 only), or null when it is not a valid ext-value. */
function extValue(v: string): string | null {
  const m = EXT_VALUE.exec(v);
  if (m === null || (m[1] ?? '').toLowerCase() !== 'utf-8') return null;
  try {
    return decodeURIComponent(m[2] ?? '');
  } catch {
    return null;
  }
}

/** Why a part's headers are read differently by upstream parsers, or null. */
function partHeaderProblem(head: string, isFile: boolean): string | null {
  const lines = head.split('\r\n');
  const seen = new Set<string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return 'part header line without a name';
    const n = line.slice(0, colon).trim().toLowerCase();
    if (seen.has(n)) return `part header ${n.slice(0, 40)} given twice`;
    seen.add(n);
  }
  const te = TRANSFER_ENCODING.exec(head);
  if (te !== null && !['7bit', '8bit', 'binary'].includes((te[1] ?? '').toLowerCase()))
    return 'content-transfer-encoding in a part (read by some parsers, ignored by others)';
  if (!isFile) {
    const ct = PART_CONTENT_TYPE.exec(head);
    if (ct !== null) {
      const m = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(ct[1] ?? '');
      if (m !== null && !['utf-8', 'utf8', 'us-ascii'].includes((m[1] ?? '').toLowerCase())) return 'a field in a charset other than UTF-8';
    }
  }
  return null;
}

export function parseMultipart(buf: Buffer, boundary: string, limits: MultipartLimits = DEFAULT_MULTIPART_LIMITS): MultipartResult {
  const delim = Buffer.from(`--${boundary}`, 'latin1');
  const value = Object.create(null) as FormRecord;
  const files = new Set<string>();
  const list: MultipartPart[] = [];
  // the body starts with the first delimiter (a preamble is allowed but ignored)
  let pos = buf.indexOf(delim);
  if (pos === -1) return bad('no multipart delimiter');
  const sep = Buffer.from(`\r\n--${boundary}`, 'latin1');
  let parts = 0;
  for (;;) {
    pos += delim.length;
    // after a delimiter: '--' closes, CRLF starts a part
    if (buf[pos] === 0x2d && buf[pos + 1] === 0x2d) return { ok: true, value, files, parts: list };
    if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a) return bad('malformed delimiter line');
    pos += 2;
    if (++parts > limits.maxParts) return { ok: false, code: 'too_many_parts', reason: `more than ${limits.maxParts} parts` };
    const headEnd = buf.indexOf('\r\n\r\n', pos, 'latin1');
    if (headEnd === -1) return bad('part headers not terminated');
    if (headEnd - pos > limits.maxPartHeaderBytes) return { ok: false, code: 'too_long', reason: 'part headers too large' };
    const head = buf.toString('latin1', pos, headEnd);
    const next = buf.indexOf(sep, headEnd + 4);
    if (next === -1) return bad('part not terminated');
    const start = headEnd + 4;
    if (next - start > limits.maxPartBytes) return { ok: false, code: 'too_long', reason: `part larger than ${limits.maxPartBytes} bytes` };
    const d = DISPOSITION.exec(head);
    if (!d) return bad('part without form-data disposition');
    let name: string | null = null;
    let filename = false;
    let plainName: string | null = null;
    let extName: string | null = null;
    const dparams = new Set<string>();
    for (const m of (d[1] ?? '').matchAll(PARAM)) {
      const key = (m[1] ?? '').toLowerCase();
      if (dparams.has(key)) return bad(`disposition parameter ${key.slice(0, 20)} given twice`);
      dparams.add(key);
      const v = m[2] ?? m[3] ?? '';
      if (key === 'name') name = v;
      else if (key === 'filename') {
        filename = true;
        plainName = v;
      } else if (key === 'filename*') {
        filename = true;
        extName = extValue(v);
        if (extName === null) return bad('filename* is not a UTF-8 ext-value');
      } else if (key === 'name*') return bad('name* in a form-data disposition (RFC 7578 forbids it)');
    }
    if (name === null || name === '') return bad('part without a name');
    const problem = partHeaderProblem(head, filename);
    if (problem !== null) return bad(problem);
    if (isForbiddenKey(name)) return { ok: false, code: 'forbidden_key', reason: 'forbidden field name' };
    const content = buf.subarray(start, next);
    let text: string;
    if (filename) {
      files.add(name);
      text = content.toString('latin1');
    } else {
      if (!isUtf8(content)) return bad('field is not valid UTF-8');
      text = content.toString('utf8');
    }
    if (name === '_charset_' && !filename && !['utf-8', 'utf8', 'us-ascii'].includes(text.trim().toLowerCase()))
      return bad('_charset_ names a charset other than UTF-8');
    const filenames: string[] = [];
    if (extName !== null) filenames.push(extName);
    if (plainName !== null && plainName !== extName) filenames.push(plainName);
    list.push({ name, filenames, contentType: PART_CONTENT_TYPE.exec(head)?.[1] ?? null, value: text });
    const prev = value[name];
    if (prev === undefined) value[name] = text;
    else if (Array.isArray(prev)) prev.push(text);
    else value[name] = [prev, text];
    pos = next + 2; // onto the '--boundary' of the separator
  }
}
