import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { safeRegExp, compileApi, isSimplePattern } from '../../src/stages/validate/compile.js';
import { loadOpenApi } from '../../src/openapi/load.js';
import { listOperations } from '../../src/openapi/operations.js';
import { run } from './compiled.js';

test('schema patterns are compiled for the linear-time engine when they allow it', () => {
  const evil = safeRegExp('^(a+)+$', 'u');
  assert.ok(evil.flags.includes('l'), 'catastrophic pattern runs on the linear engine');
  assert.equal(evil.test(`${'a'.repeat(5000)}b`), false);
  assert.equal(evil.test('aaaa'), true);
  // Unicode property escapes need the default engine in unicode mode
  const letters = safeRegExp('^\\p{L}+$', 'u');
  assert.ok(!letters.flags.includes('l'));
  assert.equal(letters.test('é'), true);
  // simple anchored patterns keep the fast default engine
  assert.ok(!safeRegExp('^[a-z0-9-]+$', 'u').flags.includes('l'));
  assert.ok(safeRegExp('^a+a+$', 'u').flags.includes('l'));
  // lookahead cannot run in linear time: default engine, same semantics
  assert.equal(safeRegExp('^(?=a)ab$', 'u').test('ab'), true);
});

test('classifies patterns that cannot backtrack super-linearly', () => {
  for (const p of ['^[a-z0-9-]+$', '^[0-9]{13}$', '^\\d{4}-\\d{2}$', '^.*$', '^[^(]+$', '^a{2,}$']) assert.equal(isSimplePattern(p), true, p);
  for (const p of ['^(a+)+$', '^a+a+$', '[a-z]+x', '^a|b+$', '^(ab)*$', '^a*b{3,}$', '^[a-z]+\\d+$']) assert.equal(isSimplePattern(p), false, p);
});

test('a spec with a catastrophic pattern validates hostile input without backtracking', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pc-redos-'));
  const file = join(dir, 'redos.yaml');
  writeFileSync(
    file,
    `openapi: 3.1.0
info: { title: redos, version: '1' }
paths:
  /x:
    post:
      operationId: x
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                s: { type: string, pattern: '^(a+)+$' }
      responses:
        '200': { description: ok }
`,
  );
  const spec = await loadOpenApi(file);
  const api = compileApi('r', spec, listOperations(spec));
  const d = run(api.operations.get('x'), { body: { s: `${'a'.repeat(50000)}!` } }).deny;
  assert.deepEqual(d?.errors, [{ pointer: '/body/s', reason: 'must match the pattern' }]);
  assert.equal(run(api.operations.get('x'), { body: { s: 'aaa' } }).deny, undefined);
});
