/**
 * `multipart/form-data` fields (RFC 7578): each part's name and content, bounded in count and
 * size. File parts are kept as their bytes in a latin1 string (so that `maxLength` and
 * `format: binary` schemas apply) and their file name is not used. Strict framing: CRLF line
 * ends, a boundary from the Content-Type, a closing delimiter.
 */
import { isUtf8 } from 'node:buffer';
import { isForbiddenKey } from './json.js';
import type { FormRecord } from './form.js';

export interface MultipartLimits {
  readonly maxParts: number;
  /** largest part content in bytes */
  readonly maxPartBytes: number;
  /** largest header block of one part */
  readonly maxPartHeaderBytes: number;
}

export const DEFAULT_MULTIPART_LIMITS: MultipartLimits = Object.freeze({ maxParts: 64, maxPartBytes: 1048576, maxPartHeaderBytes: 2048 });

export type MultipartResult =
  | { readonly ok: true; readonly value: FormRecord; readonly files: ReadonlySet<string> }
  | { readonly ok: false; readonly code: 'malformed' | 'too_many_parts' | 'too_long' | 'forbidden_key'; readonly reason: string };

const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{1,70}$/;

/** The boundary parameter of a multipart Content-Type, or null. */
export function boundaryOf(contentType: string): string | null {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  const b = m ? (m[1] ?? m[2] ?? '') : '';
  return BOUNDARY.test(b) && !b.endsWith(' ') ? b : null;
}

function bad(reason: string): MultipartResult {
  return { ok: false, code: 'malformed', reason };
}

const DISPOSITION = /^content-disposition:\s*form-data\s*((?:;\s*[A-Za-z*]+="[^"]*"|;\s*[A-Za-z*]+=[^;"\s]+)*)\s*$/im;
const PARAM = /;\s*([A-Za-z*]+)=(?:"([^"]*)"|([^;"\s]+))/g;

export function parseMultipart(buf: Buffer, boundary: string, limits: MultipartLimits = DEFAULT_MULTIPART_LIMITS): MultipartResult {
  const delim = Buffer.from(`--${boundary}`, 'latin1');
  const value = Object.create(null) as FormRecord;
  const files = new Set<string>();
  // the body starts with the first delimiter (a preamble is allowed but ignored)
  let pos = buf.indexOf(delim);
  if (pos === -1) return bad('no multipart delimiter');
  const sep = Buffer.from(`\r\n--${boundary}`, 'latin1');
  let parts = 0;
  for (;;) {
    pos += delim.length;
    // after a delimiter: '--' closes, CRLF starts a part
    if (buf[pos] === 0x2d && buf[pos + 1] === 0x2d) return { ok: true, value, files };
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
    for (const m of (d[1] ?? '').matchAll(PARAM)) {
      const key = (m[1] ?? '').toLowerCase();
      if (key === 'name') name = m[2] ?? m[3] ?? '';
      else if (key === 'filename' || key === 'filename*') filename = true;
    }
    if (name === null || name === '') return bad('part without a name');
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
    const prev = value[name];
    if (prev === undefined) value[name] = text;
    else if (Array.isArray(prev)) prev.push(text);
    else value[name] = [prev, text];
    pos = next + 2; // onto the '--boundary' of the separator
  }
}
