/**
 * From the gateway's one reading of a request (WafRequest: the query pairs and the body as every
 * stage reads them) to the CRS request model. Text the gateway decoded as UTF-8 becomes its bytes,
 * one character per byte, as ModSecurity sees it. A body read another way than the gateway read it
 * (a `ctl:requestBodyProcessor` asking for URLENCODED on a text body, say) is read here from its
 * bytes, the way ModSecurity's processor would; a query the gateway could not read (malformed
 * percent-encoding) is decoded byte by byte.
 */
import { Buffer } from 'node:buffer';
import { DEFAULT_FORM_LIMITS } from '../../body/form.js';
import { parseMediaType } from '../../body/media.js';
import { DEFAULT_MULTIPART_LIMITS } from '../../body/multipart.js';
import { readBody } from '../../body/read.js';
import type { BodyReading, Pair } from '../../core/reading.js';
import type { WafRequest } from '../types.js';
import type { BodyProcessor, CrsBodyReading, CrsRequest } from './model.js';
import { readMultipart } from './multipart.js';
import { parseArgs } from './variables.js';

/** The connection facts a WafRequest does not carry. */
export interface CrsConnection {
  readonly remoteAddr?: string;
  readonly remotePort?: number;
  readonly serverAddr?: string;
  readonly serverPort?: number;
  /** e.g. 'HTTP/1.1' (the default) */
  readonly protocol?: string;
  /**
   * header lines as received, names in their case (Node's `rawHeaders` paired); without them the
   * WafRequest's lowercase headers are used
   */
  readonly rawHeaders?: readonly Pair[];
}

/** Bounds of what the adapter reads itself. */
const MAX_ARGS = 10000;
const MAX_JSON_DEPTH = 256;
const MAX_BODY_READ = 16 * 1024 * 1024;

/** UTF-16 text to its UTF-8 bytes, one character per byte (ASCII text unchanged). */
export function toBytes(s: string): string {
  return /^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, 'utf8').toString('latin1');
}

function bytesPairs(pairs: readonly Pair[]): Pair[] {
  return pairs.map(([k, v]) => [toBytes(k), toBytes(v)] as const);
}

/**
 * The processor a Content-Type selects: URLENCODED and MULTIPART as ModSecurity chooses them, XML
 * and JSON as modsecurity.conf's rules 200000 and 200001 (and CRS's recommended `+json`) do.
 */
export function processorFor(contentType: string | undefined): BodyProcessor | null {
  if (contentType === undefined) return null;
  const t = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (t === 'application/x-www-form-urlencoded') return 'URLENCODED';
  if (t === 'multipart/form-data') return 'MULTIPART';
  if (t === 'application/json' || /^application\/[a-z0-9.-]+\+json$/.test(t)) return 'JSON';
  if (t === 'text/xml' || t === 'application/xml' || t === 'application/soap+xml' || /^application\/[a-z0-9.-]+\+xml$/.test(t)) return 'XML';
  return null;
}

/**
 * JSON flattened as Coraza names it: `json.a.b`, `json.list.0`, and `json.list` (the length of a
 * non-empty array). Numbers are written as JavaScript prints them (`1.50` becomes `1.5`).
 */
export function flattenJson(value: unknown): Pair[] {
  const out: Pair[] = [];
  const walk = (v: unknown, name: string, depth: number): void => {
    if (out.length >= MAX_ARGS || depth > MAX_JSON_DEPTH) return;
    if (v === null) out.push([name, '']);
    else if (typeof v === 'string') out.push([name, toBytes(v)]);
    else if (typeof v === 'number' || typeof v === 'boolean') out.push([name, String(v)]);
    else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], `${name}.${i}`, depth + 1);
      // as Coraza does: a non-empty array also names itself, with its length as the value
      if (v.length > 0) out.push([name, String(v.length)]);
    } else if (typeof v === 'object') for (const k of Object.keys(v)) walk((v as Record<string, unknown>)[k], `${name}.${toBytes(k)}`, depth + 1);
  };
  walk(value, 'json', 0);
  return out;
}

const EMPTY: CrsBodyReading = { args: [], parts: [], xml: null, error: null };

function failed(error: string): CrsBodyReading {
  return { args: [], parts: [], xml: null, error };
}

/** Reads a body with the gateway's readers when the pipeline did not (malformed requests, `waf test`). */
function gatewayReading(body: Buffer, contentType: string | undefined): BodyReading | string {
  if (contentType === undefined) return { kind: 'other' };
  const m = parseMediaType(contentType);
  if (!m.ok) return 'unreadable Content-Type';
  const r = readBody(body, m.media, {
    json: { maxBytes: MAX_BODY_READ, maxDepth: MAX_JSON_DEPTH, maxKeys: MAX_ARGS, maxArrayLength: MAX_ARGS, maxStringLength: MAX_BODY_READ },
    form: { ...DEFAULT_FORM_LIMITS, maxParams: MAX_ARGS, maxValueLength: MAX_BODY_READ },
    multipart: { ...DEFAULT_MULTIPART_LIMITS, maxParts: 1000, maxPartBytes: MAX_BODY_READ },
  });
  return r.ok ? r.reading : r.reason;
}

function headerPairs(headers: WafRequest['headers']): Pair[] {
  const out: Pair[] = [];
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    if (typeof v === 'string') out.push([name, v]);
    else for (const x of v) out.push([name, x]);
  }
  return out;
}

/** The CRS request of a gateway request. */
export function crsRequest(req: WafRequest, conn: CrsConnection = {}): CrsRequest {
  const ctRaw = req.headers['content-type'];
  const contentType = typeof ctRaw === 'string' ? ctRaw : ctRaw?.[0];
  const raw = req.body ?? Buffer.alloc(0);
  const bodyText = raw.toString('latin1');
  let reading: BodyReading | string | null = req.reading ?? null;
  const gateway = (): BodyReading | string => {
    reading ??= gatewayReading(raw, contentType);
    return reading;
  };
  const readAs = (p: BodyProcessor): CrsBodyReading => {
    if (raw.length === 0) return EMPTY;
    const r = gateway();
    switch (p) {
      case 'URLENCODED':
        if (typeof r !== 'string' && r.kind === 'form') return { ...EMPTY, args: bytesPairs(r.pairs) };
        return { ...EMPTY, args: parseArgs(bodyText, MAX_ARGS) };
      case 'JSON': {
        if (typeof r !== 'string' && r.kind === 'json') return { ...EMPTY, args: flattenJson(r.value) };
        try {
          return { ...EMPTY, args: flattenJson(JSON.parse(raw.toString('utf8')) as unknown) };
        } catch (e) {
          return failed(`JSON parsing error: ${(e as Error).message}`);
        }
      }
      case 'MULTIPART':
        // read from the bytes as ModSecurity does: part header lines and MULTIPART_* flags are
        // not kept by the gateway's reader, which refuses what this one flags
        return readMultipart(bodyText, contentType ?? '');
      case 'XML':
        if (typeof r !== 'string' && (r.kind === 'xml' || r.kind === 'text')) return { ...EMPTY, xml: toBytes(r.text) };
        return { ...EMPTY, xml: bodyText };
    }
  };
  const query = req.query;
  const queryArgs = req.queryPairs !== undefined ? bytesPairs(req.queryPairs) : parseArgs(query, MAX_ARGS);
  const host = req.headers.host;
  const hostName = (typeof host === 'string' ? host : (host?.[0] ?? '')).replace(/:\d+$/, '');
  return {
    method: req.method,
    uri: req.rawUrl,
    protocol: conn.protocol ?? 'HTTP/1.1',
    headers: conn.rawHeaders ?? headerPairs(req.headers),
    queryArgs,
    body: bodyText,
    bodyProcessor: processorFor(contentType),
    readBody: readAs,
    remoteAddr: conn.remoteAddr ?? '',
    remotePort: conn.remotePort ?? 0,
    serverAddr: conn.serverAddr ?? '',
    serverPort: conn.serverPort ?? 0,
    serverName: hostName,
  };
}

/** A request given as its parts (the go-ftw runner, `waf test`): read as the gateway would read it. */
export interface CrsRequestParts {
  readonly method: string;
  /** the request target as sent */
  readonly uri: string;
  /** header lines as sent, names in their case */
  readonly headers: readonly Pair[];
  readonly body?: Buffer | null;
}

/** The CRS request of a request given as parts; the body is read with the gateway's readers. */
export function crsRequestFromParts(parts: CrsRequestParts, conn: CrsConnection = {}): CrsRequest {
  const q = parts.uri.indexOf('?');
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of parts.headers) {
    const n = k.toLowerCase();
    const had = headers[n];
    headers[n] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  const path = q < 0 ? parts.uri : parts.uri.slice(0, q);
  return crsRequest(
    { method: parts.method, rawUrl: parts.uri, path, query: q < 0 ? '' : parts.uri.slice(q + 1), headers, body: parts.body ?? null },
    { ...conn, rawHeaders: conn.rawHeaders ?? parts.headers },
  );
}
