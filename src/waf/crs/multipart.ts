/**
 * multipart/form-data read the way ModSecurity's MULTIPART processor reads it: leniently, line by
 * line (CRLF or LF), keeping each part's header lines (MULTIPART_PART_HEADERS) and raising the
 * MULTIPART_* flags that CRS and modsecurity.conf test, instead of refusing the body. The gateway's
 * own reader (body/multipart.ts) refuses ambiguous bodies outright; this one serves the CRS
 * variables that need what it does not keep. Input is one character per byte; linear in its size.
 */
import type { CrsBodyReading, CrsPart } from './model.js';
import { readQuoted } from './parse.js';

export interface LenientMultipartLimits {
  readonly maxParts: number;
  /** header lines kept per part */
  readonly maxHeaders: number;
}

export const DEFAULT_LENIENT_LIMITS: LenientMultipartLimits = { maxParts: 1000, maxHeaders: 64 };

/** The boundary parameter of a multipart Content-Type, unquoted; null when there is none. */
export function multipartBoundary(contentType: string): { boundary: string; quoted: boolean; whitespace: boolean } | null {
  const m = /;\s*boundary(\s*)=(\s*)(?:"([^"]*)"|([^;,\s]*))/i.exec(contentType);
  if (m === null) return null;
  const boundary = m[3] ?? m[4] ?? '';
  if (boundary.length === 0 || boundary.length > 200) return null;
  return { boundary, quoted: m[3] !== undefined, whitespace: (m[1] ?? '') !== '' || (m[2] ?? '') !== '' };
}

interface Disposition {
  name: string | null;
  filename: string | null;
  badQuoting: boolean;
  missingSemicolon: boolean;
  formData: boolean;
}

/** Reads `form-data; name="a"; filename="b"` (quoted values unescape `\"` and `\\`). */
export function parseDisposition(v: string): Disposition {
  const d: Disposition = { name: null, filename: null, badQuoting: false, missingSemicolon: false, formData: false };
  let i = 0;
  const n = v.length;
  while (i < n && (v[i] === ' ' || v[i] === '\t')) i++;
  const semi = v.indexOf(';', i);
  const kind = v.slice(i, semi < 0 ? n : semi).trim();
  d.formData = kind.toLowerCase() === 'form-data';
  if (semi < 0) return d;
  i = semi + 1;
  while (i < n) {
    while (i < n && (v[i] === ' ' || v[i] === '\t' || v[i] === ';')) i++;
    if (i >= n) break;
    const eq = v.indexOf('=', i);
    if (eq < 0) {
      d.badQuoting = true;
      break;
    }
    const key = v.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (i < n && (v[i] === ' ' || v[i] === '\t')) i++;
    let value = '';
    if (v[i] === '"') {
      const r = readQuoted(v, i);
      if (r === null) {
        d.badQuoting = true;
        value = v.slice(i + 1);
        i = n;
      } else {
        value = r.value;
        i = r.end;
      }
      while (i < n && (v[i] === ' ' || v[i] === '\t')) i++;
      if (i < n && v[i] !== ';') d.missingSemicolon = true;
    } else {
      if (v[i] === "'") d.badQuoting = true;
      const e = v.indexOf(';', i);
      value = v.slice(i, e < 0 ? n : e).trim();
      i = e < 0 ? n : e;
    }
    if (key === 'name') d.name = value;
    else if (key === 'filename') d.filename = value;
    else if (key === 'filename*' && d.filename === null) d.filename = value;
  }
  return d;
}

/** Reads a multipart body; `error` is set (REQBODY_ERROR) when it cannot be read as one. */
export function readMultipart(body: string, contentType: string, limits: LenientMultipartLimits = DEFAULT_LENIENT_LIMITS): CrsBodyReading {
  const flags: Record<string, string> = {};
  const flag = (name: string): void => {
    flags[name] = '1';
    flags.MULTIPART_STRICT_ERROR = '1';
  };
  const b = multipartBoundary(contentType);
  if (b === null)
    return { args: [], parts: [], xml: null, error: 'Multipart: boundary not found in Content-Type', multipartFlags: { MULTIPART_STRICT_ERROR: '1' } };
  if (b.quoted) flag('MULTIPART_BOUNDARY_QUOTED');
  if (b.whitespace) flag('MULTIPART_BOUNDARY_WHITESPACE');
  const delim = `--${b.boundary}`;
  const parts: CrsPart[] = [];
  let state: 'preamble' | 'headers' | 'content' | 'epilogue' = 'preamble';
  let headers: string[] = [];
  let content = '';
  let contentEnd = '';
  let crlf = false;
  let lf = false;
  let error: string | null = null;
  const close = (): void => {
    if (state !== 'headers' && state !== 'content') return;
    if (state === 'headers') flag('MULTIPART_INVALID_PART');
    if (parts.length >= limits.maxParts) {
      flag('MULTIPART_FILE_LIMIT_EXCEEDED');
      return;
    }
    let name = '';
    let filename: string | null = null;
    let sawDisposition = false;
    for (const h of headers) {
      const colon = h.indexOf(':');
      if (colon <= 0) {
        flag('MULTIPART_INVALID_PART');
        continue;
      }
      if (h.slice(0, colon).trim().toLowerCase() !== 'content-disposition') continue;
      sawDisposition = true;
      const d = parseDisposition(h.slice(colon + 1));
      if (!d.formData) flag('MULTIPART_INVALID_PART');
      if (d.badQuoting) flag('MULTIPART_INVALID_QUOTING');
      if (d.missingSemicolon) flag('MULTIPART_MISSING_SEMICOLON');
      name = d.name ?? '';
      filename = d.filename;
    }
    if (!sawDisposition) {
      flag('MULTIPART_INVALID_PART');
      error ??= 'Multipart: part without Content-Disposition';
    }
    parts.push({ name, filename, headers, value: content });
  };
  let i = 0;
  const n = body.length;
  while (i < n) {
    const nl = body.indexOf('\n', i);
    const end = nl < 0 ? n : nl;
    const hasCr = end > i && body.charCodeAt(end - 1) === 0x0d;
    const line = body.slice(i, hasCr ? end - 1 : end);
    const ending = nl < 0 ? '' : hasCr ? '\r\n' : '\n';
    if (nl >= 0) {
      if (hasCr) crlf = true;
      else lf = true;
    }
    i = nl < 0 ? n : nl + 1;
    if (state !== 'epilogue' && line.startsWith(delim)) {
      const rest = line.slice(delim.length);
      if (rest.startsWith('--')) {
        close();
        state = 'epilogue';
        if (rest.slice(2).trim() !== '') flag('MULTIPART_DATA_AFTER');
        continue;
      }
      if (rest.trim() === '') {
        close();
        state = 'headers';
        headers = [];
        content = '';
        contentEnd = '';
        continue;
      }
      flag('MULTIPART_UNMATCHED_BOUNDARY');
    }
    switch (state) {
      case 'preamble':
        if (line.length > 0) flag('MULTIPART_DATA_BEFORE');
        break;
      case 'headers':
        if (line.length === 0) state = 'content';
        else if (line[0] === ' ' || line[0] === '\t') {
          flag('MULTIPART_HEADER_FOLDING');
          if (headers.length === 0) flag('MULTIPART_INVALID_HEADER_FOLDING');
          else headers[headers.length - 1] += ` ${line.trim()}`;
        } else if (headers.length < limits.maxHeaders) headers.push(line);
        break;
      case 'content':
        // the line ending before the next boundary belongs to the boundary
        content += contentEnd + line;
        contentEnd = ending;
        break;
      case 'epilogue':
        if (line.length > 0) flag('MULTIPART_DATA_AFTER');
        break;
    }
  }
  if (state !== 'epilogue') {
    close();
    error ??= 'Multipart: final boundary missing';
    flag('MULTIPART_UNMATCHED_BOUNDARY');
  }
  if (lf) flag('MULTIPART_LF_LINE');
  if (lf && crlf) flag('MULTIPART_CRLF_LF_LINES');
  const args = parts.filter((p) => p.filename === null).map((p) => [p.name, p.value] as const);
  return { args, parts, xml: null, error, multipartFlags: flags };
}
