/**
 * Extracts inspection targets from a request: method, raw URI, path and segments, query
 * parameters, headers, cookies, and the body by content type (JSON with JSON pointers, NDJSON,
 * form, multipart fields, XML text and attributes, raw text). Every input is bounded: total
 * characters (the inspection budget), number of targets, JSON depth. Long values are inspected in
 * overlapping chunks so that per-value work stays linear.
 */
import { urlDecode } from '../transformations/decode.js';
import type { Limits, Target, TargetKind, WafRequest } from '../types.js';

/** Headers never inspected as values: credentials (never logged) and fixed-grammar fields. */
const SKIP_HEADERS: ReadonlySet<string> = new Set([
  'authorization', 'proxy-authorization', 'cookie', 'content-length', 'content-type', 'host', 'accept', 'accept-encoding',
  'accept-language', 'accept-charset', 'connection', 'keep-alive', 'te', 'upgrade', 'cache-control', 'pragma',
  'if-none-match', 'if-match', 'if-modified-since', 'if-unmodified-since', 'sec-fetch-site', 'sec-fetch-mode',
  'sec-fetch-dest', 'sec-fetch-user', 'sec-ch-ua', 'sec-ch-ua-mobile', 'sec-ch-ua-platform', 'x-api-key',
  'upgrade-insecure-requests', 'dnt', 'traceparent', 'tracestate', 'content-digest', 'signature', 'signature-input', 'digest', 'date',
]);

const CHUNK = 16384;
/** marker pointer of JSON values: the pointer is `/body` followed by the target name */
export const JSON_POINTER = '/body';
const OVERLAP = 512;

export class TargetSink {
  readonly targets: Target[] = [];
  used = 0;
  truncated = false;
  constructor(private readonly limits: Limits) {}

  add(kind: TargetKind, name: string, value: string, pointer: string | null): boolean {
    if (this.truncated) return false;
    if (value.length === 0) return true;
    if (this.targets.length >= this.limits.maxTargets || this.used + value.length > this.limits.maxInspectedBytes) {
      this.truncated = true;
      return false;
    }
    this.used += value.length;
    if (value.length <= CHUNK) {
      this.targets.push({ kind, name, value, pointer });
      return true;
    }
    for (let i = 0; i < value.length; i += CHUNK - OVERLAP) {
      this.targets.push({ kind, name, value: value.slice(i, i + CHUNK), pointer });
      if (i + CHUNK >= value.length) break;
    }
    return true;
  }
}

/** Splits `a=1&b=2` into decoded pairs ('+' is a space). */
export function parseUrlEncoded(s: string, onPair: (name: string, value: string) => boolean | void): void {
  if (s.length === 0) return;
  let start = 0;
  while (start <= s.length) {
    let end = s.indexOf('&', start);
    if (end < 0) end = s.length;
    if (end > start) {
      const part = s.slice(start, end);
      const eq = part.indexOf('=');
      const name = eq < 0 ? part : part.slice(0, eq);
      const value = eq < 0 ? '' : part.slice(eq + 1);
      if (onPair(urlDecode(name, true), urlDecode(value, true)) === false) return;
    }
    start = end + 1;
  }
}

function headerValues(v: string | readonly string[] | undefined): readonly string[] {
  if (v === undefined) return [];
  return typeof v === 'string' ? [v] : v;
}

function escapePointer(k: string): string {
  return k.indexOf('~') < 0 && k.indexOf('/') < 0 ? k : k.replace(/~/g, '~0').replace(/\//g, '~1');
}

function walkJson(sink: TargetSink, v: unknown, path: string, depth: number, maxDepth: number): void {
  if (sink.truncated) return;
  if (typeof v === 'string') {
    // the schema pointer is '/body' + name; the engine builds it only when validated pointers exist
    sink.add('json', path === '' ? '/' : path, v, JSON_POINTER);
    return;
  }
  if (v === null || typeof v !== 'object') return;
  if (depth >= maxDepth) {
    sink.truncated = true;
    return;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length && !sink.truncated; i++) walkJson(sink, v[i], `${path}/${i}`, depth + 1, maxDepth);
    return;
  }
  for (const k of Object.keys(v as object)) {
    if (sink.truncated) return;
    const p = `${path}/${escapePointer(k)}`;
    sink.add('json_key', p, k, null);
    walkJson(sink, (v as Record<string, unknown>)[k], p, depth + 1, maxDepth);
  }
}

/** Media type without parameters, lowercase. */
export function mediaType(ct: string | undefined): string {
  if (ct === undefined) return '';
  const semi = ct.indexOf(';');
  return (semi < 0 ? ct : ct.slice(0, semi)).trim().toLowerCase();
}

export function isJsonType(mt: string): boolean {
  return mt === 'application/json' || mt.endsWith('+json') || mt === 'text/json';
}
function isNdjsonType(mt: string): boolean {
  return mt === 'application/x-ndjson' || mt === 'application/ndjson' || mt === 'application/jsonl' || mt === 'application/json-seq' || mt === 'application/x-jsonlines';
}
function isXmlType(mt: string): boolean {
  return mt.endsWith('/xml') || mt.endsWith('+xml');
}

/** Extracts text nodes and attribute values of an XML document (linear scan, no entity expansion). */
function walkXml(sink: TargetSink, xml: string): void {
  let i = 0;
  const n = xml.length;
  while (i < n && !sink.truncated) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      const text = xml.slice(i, textEnd).trim();
      if (text.length > 0) sink.add('xml', 'text', text, null);
    }
    if (lt < 0) break;
    if (xml.startsWith('<![CDATA[', lt)) {
      const e = xml.indexOf(']]>', lt + 9);
      const text = xml.slice(lt + 9, e < 0 ? n : e);
      if (text.trim().length > 0) sink.add('xml', 'cdata', text, null);
      i = e < 0 ? n : e + 3;
      continue;
    }
    const gt = xml.indexOf('>', lt + 1);
    const tag = xml.slice(lt + 1, gt < 0 ? n : gt);
    // attribute values
    let q = 0;
    while (q < tag.length) {
      const a = tag.indexOf('=', q);
      if (a < 0) break;
      let s = a + 1;
      while (s < tag.length && tag.charCodeAt(s) === 0x20) s++;
      const quote = tag[s];
      if (quote === '"' || quote === "'") {
        const e = tag.indexOf(quote, s + 1);
        const val = tag.slice(s + 1, e < 0 ? tag.length : e);
        if (val.length > 0) sink.add('xml', 'attribute', val, null);
        q = e < 0 ? tag.length : e + 1;
      } else q = s + 1;
    }
    i = gt < 0 ? n : gt + 1;
  }
}

function walkMultipart(sink: TargetSink, body: string, ct: string): void {
  const m = /boundary=(?:"([^"]{1,200})"|([^;,\s]{1,200}))/i.exec(ct);
  const boundary = m?.[1] ?? m?.[2];
  if (boundary === undefined) {
    sink.add('body', '', body, null);
    return;
  }
  const parts = body.split(`--${boundary}`);
  for (const part of parts) {
    if (sink.truncated) return;
    const headEnd = part.indexOf('\r\n\r\n');
    if (headEnd < 0) continue;
    const head = part.slice(0, headEnd);
    let content = part.slice(headEnd + 4);
    if (content.endsWith('\r\n')) content = content.slice(0, -2);
    const name = /name="([^"]{0,200})"/i.exec(head)?.[1] ?? '';
    const filename = /filename="([^"]{0,300})"/i.exec(head)?.[1];
    sink.add('form_name', name, name, null);
    if (filename !== undefined) {
      sink.add('file_name', name, filename, null);
      // file contents: only text-like parts are inspected
      if (/content-type:\s*(?:text\/|application\/(?:json|xml|x-php|javascript))/i.test(head) || !/content-type:/i.test(head)) sink.add('form', name, content, `/body/${escapePointer(name)}`);
    } else sink.add('form', name, content, `/body/${escapePointer(name)}`);
  }
}

/** Builds the targets of a request. */
export function extractTargets(req: WafRequest, limits: Limits): TargetSink {
  const sink = new TargetSink(limits);
  sink.add('method', '', req.method, null);
  sink.add('uri', '', req.rawUrl, null);

  // path: decoded once (the normaliser keeps reserved characters percent-encoded)
  const path = req.path.indexOf('%') >= 0 ? urlDecode(req.path) : req.path;
  sink.add('path', '', path, null);
  if (path.length > 1) {
    const params = req.params;
    let byValue: Map<string, string> | null = null;
    if (params !== undefined) for (const [k, v] of Object.entries(params)) (byValue ??= new Map()).set(v, k);
    const segs = path.split('/');
    for (let i = 1; i < segs.length; i++) {
      const seg = segs[i]!;
      if (seg.length === 0) continue;
      const p = byValue?.get(seg);
      sink.add('path_segment', String(i - 1), seg, p === undefined ? null : `/path/${p}`);
    }
  }

  parseUrlEncoded(req.query, (name, value) => {
    sink.add('query_name', name, name, null);
    return sink.add('query', name, value, `/query/${escapePointer(name)}`);
  });

  const headers = req.headers;
  for (const name in headers) {
    if (sink.truncated) break;
    const raw = headers[name];
    if (raw === undefined) continue;
    if (name === 'cookie') {
      for (const line of headerValues(raw)) {
        for (const part of line.split(';')) {
          const eq = part.indexOf('=');
          const cname = (eq < 0 ? part : part.slice(0, eq)).trim();
          const cval = eq < 0 ? '' : part.slice(eq + 1).trim();
          sink.add('cookie_name', cname, cname, null);
          sink.add('cookie', cname, cval, `/cookie/${escapePointer(cname)}`);
        }
      }
      continue;
    }
    if (name === 'content-type') {
      for (const v of headerValues(raw)) sink.add('content_type', '', v, null);
      continue;
    }
    sink.add('header_name', name, name, null);
    if (SKIP_HEADERS.has(name)) continue;
    if (typeof raw === 'string') sink.add('header', name, raw, `/header/${name}`);
    else for (const v of raw) sink.add('header', name, v, `/header/${name}`);
  }

  const body = req.body;
  if (body === null || body.length === 0 || sink.truncated) return sink;
  const ctRaw = req.headers['content-type'];
  const ct = typeof ctRaw === 'string' ? ctRaw : ctRaw?.[0] ?? '';
  const mt = mediaType(ct);
  if (body.length > limits.maxInspectedBytes - sink.used) {
    sink.truncated = true;
    return sink;
  }
  if (isJsonType(mt) || (mt === '' && (body[0] === 0x7b || body[0] === 0x5b))) {
    let parsed: unknown = req.parsedBody;
    if (parsed === undefined) {
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        sink.add('body', '', body.toString('utf8'), null);
        return sink;
      }
    }
    walkJson(sink, parsed, '', 0, limits.maxJsonDepth);
    return sink;
  }
  const text = body.toString('utf8');
  if (isNdjsonType(mt)) {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length && !sink.truncated; i++) {
      const line = lines[i]!.trim();
      if (line.length === 0) continue;
      try {
        walkJson(sink, JSON.parse(line), `/${i}`, 0, limits.maxJsonDepth);
      } catch {
        sink.add('body', String(i), line, null);
      }
    }
    return sink;
  }
  if (mt === 'application/x-www-form-urlencoded') {
    parseUrlEncoded(text, (name, value) => {
      sink.add('form_name', name, name, null);
      return sink.add('form', name, value, `/body/${escapePointer(name)}`);
    });
    return sink;
  }
  if (mt === 'multipart/form-data') {
    walkMultipart(sink, text, ct);
    return sink;
  }
  if (isXmlType(mt) || text.trimStart().startsWith('<?xml')) {
    sink.add('body', '', text, null);
    walkXml(sink, text);
    return sink;
  }
  sink.add('body', '', text, null);
  return sink;
}
