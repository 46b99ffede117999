/** Loads the request corpora of test/waf (NDJSON data) as WAF requests. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { WafRequest } from '../../src/waf/types.js';

export interface CorpusEntry {
  readonly method: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly note?: string;
}

/** test/waf in the source tree (tests run from dist/test/waf). */
export const DATA_DIR = resolve(import.meta.dirname, '..', '..', '..', 'test', 'waf');

export function loadCorpus(name: string): CorpusEntry[] {
  return readFileSync(resolve(DATA_DIR, name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as CorpusEntry);
}

export function toWafRequest(e: CorpusEntry): WafRequest {
  const q = e.url.indexOf('?');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.headers ?? {})) headers[k.toLowerCase()] = v;
  return {
    method: e.method,
    rawUrl: e.url,
    path: q < 0 ? e.url : e.url.slice(0, q),
    query: q < 0 ? '' : e.url.slice(q + 1),
    headers,
    body: e.body === undefined ? null : Buffer.from(e.body, 'utf8'),
  };
}
