/** Compiles the fixtures once for the pure validation tests. */
import { loadOpenApi } from '../../src/openapi/load.js';
import { listOperations } from '../../src/openapi/operations.js';
import { compileApi, type CompiledApi, type CompiledOperation } from '../../src/stages/validate/compile.js';
import { validateRequest, type RequestSettings, type RequestSink } from '../../src/stages/validate/request.js';
import { DEFAULT_JSON_LIMITS } from '../../src/body/json.js';
import { DEFAULT_FORM_LIMITS, parsePairs } from '../../src/body/form.js';
import { DEFAULT_MULTIPART_LIMITS } from '../../src/body/multipart.js';
import { readRequestContentType } from '../../src/body/media.js';
import { readBody, type BodyLimits } from '../../src/body/read.js';
import { deny as denyOf, type Deny } from '../../src/core/decision.js';
import { SHOP, LIBRARY } from './fixtures.js';
import type { BodyReading, MediaType, Pair } from '../../src/core/reading.js';

export async function compiled(): Promise<{ shop: CompiledApi; library: CompiledApi }> {
  const s = await loadOpenApi(SHOP);
  const l = await loadOpenApi(LIBRARY);
  return { shop: compileApi('shop', s, listOperations(s)), library: compileApi('library', l, listOperations(l)) };
}

export const SETTINGS: RequestSettings = { maxErrors: 10 };
/** the body limits the pipeline's body step applies by default */
export const BODY_LIMITS: BodyLimits = { json: DEFAULT_JSON_LIMITS, form: DEFAULT_FORM_LIMITS, multipart: DEFAULT_MULTIPART_LIMITS };

export interface Req {
  params?: Record<string, string>;
  query?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | object;
}

export function run(op: CompiledOperation | undefined, r: Req = {}, settings: RequestSettings = SETTINGS): { deny: Deny | undefined; sink: RequestSink } {
  if (!op) throw new Error('no such operation');
  const headers: Record<string, string> = { ...(r.headers ?? {}) };
  let body: Buffer | null = null;
  if (r.body !== undefined) {
    body = Buffer.isBuffer(r.body) ? r.body : Buffer.from(typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(body.length);
  }
  const sink: RequestSink = { parsedBody: undefined, validatedPointers: null };
  // the gateway's one reading, as intake and the body step make it
  let queryPairs: readonly Pair[] = [];
  if (r.query) {
    const p = parsePairs(r.query, { maxParams: 1024, maxValueLength: 65536 });
    if (!p.ok) return { deny: denyOf('PC_ERR_QUERY_AMBIGUOUS', { reason: p.reason }), sink };
    queryPairs = p.pairs;
  }
  let media: MediaType | null = null;
  const ct = headers['content-type'];
  if (ct !== undefined) {
    const m = readRequestContentType(ct);
    if (!m.ok) return { deny: denyOf(m.unsupported ? 'PC_ERR_UNSUPPORTED_MEDIA_TYPE' : 'PC_ERR_MEDIA_TYPE_INVALID', { reason: m.reason }), sink };
    media = m.media;
  }
  let reading: BodyReading | null = null;
  let refusal: Deny | null = null;
  if (body !== null && body.length > 0 && op.body !== null) {
    const b = readBody(body, media, BODY_LIMITS);
    if (b.ok) reading = b.reading;
    else
      refusal = denyOf(
        b.code === 'duplicate_key' || b.code === 'malformed'
          ? 'PC_ERR_BODY_MALFORMED'
          : b.code === 'forbidden_key'
            ? 'PC_ERR_BODY_FORBIDDEN_KEY'
            : b.code === 'too_large'
              ? 'PC_ERR_BODY_TOO_LARGE'
              : 'PC_ERR_BODY_LIMITS',
        { reason: b.reason },
      );
  }
  const hasBody = body !== null && body.length > 0;
  const deny = validateRequest(
    op,
    { params: r.params ?? {}, queryPairs, headers, media, body: reading, bodyRefusal: refusal, hasBody, bodyBytes: reading === null ? 0 : (body?.length ?? 0) },
    settings,
    sink,
  );
  return { deny, sink };
}
