/**
 * Extracts inspection targets from a request: method, raw URI, path and segments, query
 * parameters, headers, cookies, and the body. The query and the body are the gateway's one reading
 * of them (body/form.ts, body/read.ts): the pipeline hands over what it read; for a request it
 * never read (a malformed one, `waf test`), the same readers run here. Targets by body kind: JSON
 * values and keys with JSON pointers, NDJSON lines, form fields, multipart fields, file names and
 * contents, XML text and attributes, raw text. Every input is bounded: total characters (the
 * inspection budget), number of targets, JSON depth. Long values are inspected in overlapping
 * chunks so that per-value work stays linear.
 */
import { Buffer } from 'node:buffer';
import { parsePairs } from '../body/form.js';
import { parseMediaType } from '../body/media.js';
import { readBody } from '../body/read.js';
import { DEFAULT_FORM_LIMITS } from '../body/form.js';
import { DEFAULT_MULTIPART_LIMITS } from '../body/multipart.js';
import { urlDecode } from './transformations/decode.js';
import type { Limits, Target, TargetKind, WafRequest } from './types.js';
import type { BodyReading, Pair } from '../core/reading.js';

/**
 * Header values not inspected: framing fields the HTTP parser already checked (a value outside
 * their grammar never reaches a stage), and opaque credentials whose characters carry no syntax
 * (signatures, digests). Every other header is inspected, Accept, Cache-Control, Date, validators
 * and trace context included; Basic credentials are decoded first (user name and password).
 */
const SKIP_HEADERS: ReadonlySet<string> = new Set([
  'cookie',
  'content-length',
  'content-type',
  'host',
  'connection',
  'keep-alive',
  'te',
  'upgrade',
  'transfer-encoding',
  'content-digest',
  'signature',
  'signature-input',
  'digest',
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

function walkMultipart(sink: TargetSink, r: Extract<BodyReading, { kind: 'multipart' }>): void {
  for (const part of r.parts) {
    if (sink.truncated) return;
    const name = part.name;
    sink.add('form_name', name, name, null);
    for (const f of part.filenames) sink.add('file_name', name, f, null);
    // every part is inspected, file contents of any type too (as their bytes, latin1)
    sink.add('form', name, part.value, part.filenames.length === 0 ? `/body/${escapePointer(name)}` : null);
  }
}

/** Authorization: Basic credentials decoded to `user:password` (RFC 7617), else null. */
function basicCredentials(v: string): string | null {
  if (v.length < 7 || v.slice(0, 6).toLowerCase() !== 'basic ') return null;
  const b64 = v.slice(6).trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return null;
  return Buffer.from(b64, 'base64').toString('utf8');
}

/** The body targets of one reading. */
function walkBody(sink: TargetSink, reading: BodyReading, raw: Buffer, limits: Limits): void {
  switch (reading.kind) {
    case 'json':
      walkJson(sink, reading.value, '', 0, limits.maxJsonDepth);
      return;
    case 'ndjson':
      for (let i = 0; i < reading.values.length && !sink.truncated; i++) walkJson(sink, reading.values[i], `/${i}`, 0, limits.maxJsonDepth);
      return;
    case 'form':
      for (const [name, value] of reading.pairs) {
        sink.add('form_name', name, name, null);
        if (!sink.add('form', name, value, `/body/${escapePointer(name)}`)) return;
      }
      return;
    case 'multipart':
      walkMultipart(sink, reading);
      return;
    case 'xml':
      sink.add('body', '', reading.text, null);
      walkXml(sink, reading.text);
      return;
    case 'text':
      sink.add('body', '', reading.text, null);
      return;
    default:
      sink.add('body', '', raw.toString('utf8'), null);
  }
}

/** Reads a body the pipeline did not read (malformed requests, `waf test`) with the gateway's readers. */
function readForInspection(body: Buffer, contentType: string | undefined, limits: Limits): BodyReading | null {
  let media = null;
  if (contentType !== undefined) {
    const m = parseMediaType(contentType);
    if (!m.ok) return null;
    media = m.media;
  }
  // depth is bounded by the walk (which reports truncation), not by the reader
  const json = { maxBytes: limits.maxInspectedBytes, maxDepth: 1024, maxKeys: 100000, maxArrayLength: 1000000, maxStringLength: limits.maxInspectedBytes };
  const r = readBody(body, media, {
    json,
    form: { ...DEFAULT_FORM_LIMITS, maxParams: limits.maxTargets },
    multipart: { ...DEFAULT_MULTIPART_LIMITS, maxParts: limits.maxTargets, maxPartBytes: limits.maxInspectedBytes },
  });
  if (r.ok) return r.reading;
  // a JSON body the gateway would refuse (duplicate or prototype keys) is still inspected key by key
  if (media?.kind === 'json' && (r.code === 'duplicate_key' || r.code === 'forbidden_key')) {
    try {
      return { kind: 'json', value: JSON.parse(body.toString('utf8')) as unknown };
    } catch {
      return null;
    }
  }
  return null;
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

  let pairs: readonly Pair[] | null | undefined = req.queryPairs;
  if (pairs === undefined && req.query !== '') {
    const p = parsePairs(req.query, { maxParams: limits.maxTargets, maxValueLength: limits.maxInspectedBytes });
    pairs = p.ok ? p.pairs : null;
  }
  if (pairs === null)
    sink.add('query', '', req.query, null); // unreadable (a malformed request): inspected whole
  else if (pairs !== undefined) {
    for (const [name, value] of pairs) {
      sink.add('query_name', name, name, null);
      if (!sink.add('query', name, value, `/query/${escapePointer(name)}`)) break;
    }
  }

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
    for (const v of headerValues(raw)) {
      if (name === 'authorization' || name === 'proxy-authorization') {
        // Basic credentials carry a user name and password the upstream may use; other schemes
        // carry opaque tokens that the auth stage verifies
        const basic = basicCredentials(v);
        if (basic !== null) sink.add('header', name, basic, null);
        continue;
      }
      sink.add('header', name, v, `/header/${name}`);
    }
  }

  const body = req.body;
  if (body === null || body.length === 0 || sink.truncated) return sink;
  if (body.length > limits.maxInspectedBytes - sink.used) {
    sink.truncated = true;
    return sink;
  }
  let reading = req.reading;
  if (reading === undefined || reading === null) {
    const ctRaw = req.headers['content-type'];
    reading = readForInspection(body, typeof ctRaw === 'string' ? ctRaw : ctRaw?.[0], limits);
  }
  if (reading === null)
    sink.add('body', '', body.toString('utf8'), null); // unreadable: inspected as text
  else walkBody(sink, reading, body, limits);
  return sink;
}
