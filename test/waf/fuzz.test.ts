/** Property tests: the parsers, transformations and detectors accept any input without throwing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TRANSFORMATIONS } from '../../src/waf/transformations/index.js';
import { DETECTORS } from '../../src/waf/detectors/index.js';
import { compileRules, evaluate } from '../../src/waf/engine.js';
import { BUILTIN_RULES } from '../../src/waf/rules/index.js';

const compiled = compileRules(BUILTIN_RULES);
const tricky = fc.string({
  unit: fc.constantFrom(
    ...'%&\\\'"`;|<>(){}[]$#-/*.:=+ \t\r\n\0aZ09x@!~^,?'.split(''),
    '%2',
    '%u',
    '&#',
    '\\x',
    '\\u{',
    '${',
    '{{',
    '/*',
    '--',
    'é',
    '\uff1c',
    '\ud800',
  ),
  maxLength: 200,
});

test('every transformation returns a string for any input', () => {
  fc.assert(
    fc.property(tricky, (s) => {
      for (const [name, f] of Object.entries(TRANSFORMATIONS)) assert.equal(typeof f(s), 'string', name);
    }),
    { numRuns: 300 },
  );
});

test('decodeAll reaches a value that one more round changes little (bounded rounds, no growth)', () => {
  fc.assert(
    fc.property(tricky, (s) => {
      const once = TRANSFORMATIONS['decodeAll']!(s);
      assert.ok(once.length <= s.length * 2 + 8);
    }),
    { numRuns: 300 },
  );
});

test('every detector returns a string or null for any input', () => {
  fc.assert(
    fc.property(tricky, (s) => {
      for (const [name, d] of Object.entries(DETECTORS)) {
        const r = d(s);
        assert.ok(r === null || typeof r === 'string', name);
      }
    }),
    { numRuns: 300 },
  );
});

test('evaluate accepts any query, header and body without throwing', () => {
  fc.assert(
    fc.property(
      tricky,
      tricky,
      fc.constantFrom(
        'application/json',
        'application/x-www-form-urlencoded',
        'application/xml',
        'multipart/form-data; boundary=x',
        'text/plain',
        'application/x-ndjson',
      ),
      (q, body, ct) => {
        const r = evaluate(
          {
            method: 'POST',
            rawUrl: `/?${q}`,
            path: '/',
            query: q,
            headers: { 'content-type': ct, 'x-test': q.replace(/[\r\n\0]/g, '') },
            body: Buffer.from(body),
          },
          compiled,
          { paranoia: 4, threshold: 5, exclusions: [] },
          { allMatches: true },
        );
        assert.equal(typeof r.score, 'number');
      },
    ),
    { numRuns: 300 },
  );
});
