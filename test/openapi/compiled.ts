/** Compiles the fixtures once for the pure validation tests. */
import { loadOpenApi } from '../../src/openapi/load.js';
import { listOperations } from '../../src/openapi/operations.js';
import { compileApi, type CompiledApi, type CompiledOperation } from '../../src/stages/validate/compile.js';
import { validateRequest, type RequestSettings, type RequestSink } from '../../src/stages/validate/request.js';
import { DEFAULT_JSON_LIMITS } from '../../src/body/json.js';
import { DEFAULT_FORM_LIMITS } from '../../src/body/form.js';
import { DEFAULT_MULTIPART_LIMITS } from '../../src/body/multipart.js';
import type { Deny } from '../../src/core/decision.js';
import { SHOP, LIBRARY } from './fixtures.js';

export async function compiled(): Promise<{ shop: CompiledApi; library: CompiledApi }> {
  const s = await loadOpenApi(SHOP);
  const l = await loadOpenApi(LIBRARY);
  return { shop: compileApi('shop', s, listOperations(s)), library: compileApi('library', l, listOperations(l)) };
}

export const SETTINGS: RequestSettings = { maxErrors: 10, json: DEFAULT_JSON_LIMITS, form: DEFAULT_FORM_LIMITS, multipart: DEFAULT_MULTIPART_LIMITS };

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
  const deny = validateRequest(op, { params: r.params ?? {}, query: r.query ?? '', headers, body, hasBody: body !== null && body.length > 0 }, settings, sink);
  return { deny, sink };
}
