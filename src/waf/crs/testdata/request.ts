/** Builds CRS requests for tests from a method, a target, header lines and a body. */
import { Buffer } from 'node:buffer';
import { crsRequestFromParts } from '../adapter.js';
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
  return crsRequestFromParts(
    {
      method: input.method ?? 'GET',
      uri: input.uri ?? '/',
      headers: input.headers ?? [['host', 'example.com']],
      body: input.body === undefined ? null : Buffer.from(input.body, 'utf8'),
    },
    { remoteAddr: '192.0.2.1', remotePort: 40000, serverAddr: '192.0.2.2', serverPort: 80 },
  );
}

/** Loads SecLang text with the test registry. */
export function testRules(text: string, file = 'test.conf'): CrsRuleSet {
  return loadRuleSet([{ file, text }], { transformations: TEST_TRANSFORMATIONS, operators: testOperators, readFile: () => '' });
}
