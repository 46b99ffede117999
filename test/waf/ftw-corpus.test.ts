/** The go-ftw parser over the whole OWASP CRS v4 regression suite: every test reads into requests. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadSuite } from '../../src/waf/ftw/runner.js';
import { buildRequest } from '../../src/waf/ftw/request.js';

const SUITE = resolve(import.meta.dirname, '..', '..', '..', '..', 'shared', 'waf-corpus', 'crs-v4', 'tests', 'regression', 'tests');

test('every test of the CRS v4 regression suite parses and builds a request', (t) => {
  if (!existsSync(SUITE)) {
    t.skip(`the CRS suite is not at ${SUITE}`);
    return;
  }
  const suite = loadSuite(SUITE);
  assert.deepEqual(suite.errors, []);
  // 323 YAML files (322 *.yaml and 999999.yml); 920539.yaml is all comments
  assert.equal(suite.files.length, 323);
  const tests = suite.files.flatMap((f) => f.tests);
  assert.equal(tests.length, 5003);
  const names = new Set<string>();
  let stages = 0;
  let encoded = 0;
  for (const x of tests) {
    names.add(`${x.ruleId}-${x.testId}`);
    for (const s of x.stages) {
      stages++;
      if (s.input.encodedRequest !== null) encoded++;
      const bytes = buildRequest(s.input);
      assert.ok(bytes.length > 0);
      if (s.input.encodedRequest === null) assert.ok(bytes.toString('utf8').startsWith(`${s.input.method} ${s.input.uri} `));
    }
  }
  assert.equal(names.size, tests.length, 'rule_id-test_id names are unique');
  assert.equal(stages, 5009);
  assert.equal(encoded, 10);
  // the template of 920400 expands (a body of 64,200 '1's)
  const big = tests.find((x) => x.ruleId === '920400' && x.testId === 1);
  assert.ok((big?.stages[0]?.input.data?.length ?? 0) >= 64200);
});
