/** Builds CRS requests for tests from a method, a target, header lines and a body. */
import { Buffer } from 'node:buffer';
import { crsRequest } from '../adapter.js';
import type { CrsRequest } from '../model.js';
import { loadRuleSet } from '../load.js';
import type { CrsRuleSet } from '../load.js';
import { TEST_TRANSFORMATIONS, testOperators } from './registry.js';

export interface TestInput {
  readonly method?: string;
  readonly uri?: string;
  readonly headers?: readonly (readonly [string, string])[];
  readonly body?: string;
}

export function testRequest(input: TestInput = {}): CrsRequest {
  const uri = input.uri ?? '/';
  const q = uri.indexOf('?');
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of input.headers ?? [['host', 'example.com']]) {
    const n = k.toLowerCase();
    const had = headers[n];
    headers[n] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return crsRequest(
    {
      method: input.method ?? 'GET',
      rawUrl: uri,
      path: q < 0 ? uri : uri.slice(0, q),
      query: q < 0 ? '' : uri.slice(q + 1),
      headers,
      body: input.body === undefined ? null : Buffer.from(input.body, 'utf8'),
    },
    { remoteAddr: '192.0.2.1', remotePort: 40000, serverAddr: '192.0.2.2', serverPort: 80 },
  );
}

/** Loads SecLang text with the test registry. */
export function testRules(text: string, file = 'test.conf'): CrsRuleSet {
  return loadRuleSet([{ file, text }], { transformations: TEST_TRANSFORMATIONS, operators: testOperators, readFile: () => '' });
}
