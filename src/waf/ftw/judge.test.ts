/** Vectors for judging a stage (go-ftw's checkResult), the overrides format, and reading responses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judge, type Observed } from './judge.js';
import { outputOf } from './parse.js';
import { applyOverride, knownFailure, overrideFor, parseOverrides } from './overrides.js';
import { responseEnd } from './client.js';
import { selected } from './runner.js';
import type { FtwTest } from './types.js';

const seen = (o: Partial<Observed>): Observed => ({ error: null, status: 200, response: 'HTTP/1.1 200 OK\r\n\r\n', ruleIds: [], log: '', ...o });

const CASES: readonly [string, unknown, Partial<Observed>, boolean][] = [
  ['expected id matched', { log: { expect_ids: [942100] } }, { ruleIds: ['942100', '949110'] }, true],
  ['expected id missing', { log: { expect_ids: [942100] } }, { ruleIds: ['942101'] }, false],
  ['named ids compare as strings', { log: { expect_ids: ['sqli-100'] } }, { ruleIds: ['sqli-100'] }, true],
  ['unwanted id matched', { log: { no_expect_ids: [920100] } }, { ruleIds: ['920100'] }, false],
  ['unwanted id absent', { log: { no_expect_ids: [920100] } }, { ruleIds: [] }, true],
  ['status in a list', { status: [400, 403] }, { status: 403 }, true],
  ['status not expected', { status: 200 }, { status: 403 }, false],
  ['no response fails an ordinary test', { log: { no_expect_ids: [1] } }, { error: 'timeout', status: null }, false],
  ['no response passes expect_error', { expect_error: true }, { error: 'timeout', status: null }, true],
  ['a response fails expect_error', { expect_error: true }, {}, false],
  ['response regex', { response_contains: '^HTTP/1\\.1 200' }, {}, true],
  ['response regex missing', { response_contains: 'Forbidden' }, {}, false],
  ['log regex (RE2 inline flag)', { log: { match_regex: '(?i)\\[ID "942100"\\]' } }, { log: '[id "942100"] x' }, true],
  ['no_match_regex found', { log: { no_match_regex: '\\[id "\\d+"\\]' } }, { log: '[id "1"]' }, false],
  ['no_log_contains stands for no_match_regex', { no_log_contains: 'id "5"' }, { log: '[id "5"]' }, false],
  ['isolated with two rules', { isolated: true, log: { expect_ids: [1] } }, { ruleIds: ['1', '2'] }, false],
  ['an empty output checks nothing', {}, { status: 500 }, true],
];

test('each expectation is judged as go-ftw judges it', () => {
  for (const [name, out, got, pass] of CASES) {
    const v = judge(outputOf(out), seen(got));
    assert.equal(v.pass, pass, `${name}: ${v.reasons.join('; ')}`);
    assert.equal(v.reasons.length === 0, pass, name);
  }
});

test('an invalid or backtracking regex fails the stage with the reason', () => {
  const v = judge(outputOf({ log: { match_regex: '(a' } }), seen({}));
  assert.equal(v.pass, false);
  assert.match(v.reasons[0] ?? '', /regex/);
  assert.equal(judge(outputOf({ log: { match_regex: '(a)\\1' } }), seen({ log: 'aa' })).pass, false);
});

const OVERRIDES = `
version: "v0.0.0"
meta: { engine: portcullis, platform: node }
test_overrides:
  - rule_id: 920100
    test_ids: [4]
    reason: 'Node answers 405'
    output:
      status: 405
  - rule_id: 932200
    test_ids: [13]
    reason: 'wip'
  - rule_id: 942100
    reason: 'not yet'
    expect_failure: true
`;

const t = (ruleId: string, testId: number): FtwTest => ({
  ruleId,
  testId,
  description: '',
  stages: [{ input: {} as never, output: outputOf({ status: 400 }) }],
});

test('overrides replace the output of the tests they name, or mark them known failures', () => {
  const o = parseOverrides(OVERRIDES, 'o.yaml');
  assert.equal(o.engine, 'portcullis');
  const a = overrideFor(o, t('920100', 4));
  assert.deepEqual(applyOverride(t('920100', 4), a).stages[0]?.output.status, [405]);
  assert.equal(knownFailure(a), false);
  assert.equal(overrideFor(o, t('920100', 5)), null);
  assert.equal(knownFailure(overrideFor(o, t('932200', 13))), true);
  // no test_ids: every test of the rule
  assert.equal(knownFailure(overrideFor(o, t('942100', 77))), true);
  assert.throws(() => parseOverrides('test_overrides:\n  - test_ids: [1]\n', 'bad.yaml'), /rule_id is missing/);
});

test('the CRS suite overrides files of the reference engines parse', async (t) => {
  const { readFileSync, existsSync } = await import('node:fs');
  const { resolve } = await import('node:path');
  const dir = resolve(import.meta.dirname, '..', '..', '..', '..', '..', 'shared', 'waf-corpus', 'crs-v4', 'tests', 'regression');
  if (!existsSync(dir)) {
    t.skip('the CRS corpus (../shared/waf-corpus) is not here');
    return;
  }
  const coraza = parseOverrides(readFileSync(resolve(dir, 'coraza-overrides.yaml'), 'utf8'), 'coraza');
  assert.equal(coraza.engine, 'coraza');
  assert.ok(coraza.list.length >= 9);
  parseOverrides(readFileSync(resolve(dir, 'nginx-overrides.yaml'), 'utf8'), 'nginx');
  parseOverrides(readFileSync(resolve(dir, 'httpd-overrides.yaml'), 'utf8'), 'httpd');
});

test('a response ends by Content-Length, chunked framing, or the close; interim responses are skipped', () => {
  const b = (s: string): Buffer => Buffer.from(s, 'latin1');
  assert.equal(responseEnd(b('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab'), 'GET', false), null);
  assert.equal(responseEnd(b('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcEXTRA'), 'GET', false)?.end, 41);
  const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n';
  assert.equal(responseEnd(b(chunked), 'GET', false)?.end, chunked.length);
  assert.equal(responseEnd(b(chunked.slice(0, -2)), 'GET', false), null);
  assert.equal(responseEnd(b('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n'), 'HEAD', false)?.end, 38);
  assert.equal(responseEnd(b('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'), 'POST', false)?.status, 403);
  assert.equal(responseEnd(b('HTTP/1.0 200 OK\r\n\r\nuntil close'), 'GET', true)?.status, 200);
  assert.throws(() => responseEnd(b('garbage\r\n\r\n'), 'GET', false), /unreadable status line/);
});

test('include and exclude select tests as go-ftw does: an include match wins over an exclude', () => {
  assert.equal(selected('942100-1', /^942/, /-1$/), true);
  assert.equal(selected('942100-1', null, /-1$/), false);
  assert.equal(selected('920100-1', /^942/, null), false);
  assert.equal(selected('920100-1', null, null), true);
});

test('case-insensitive patterns are rewritten for the linear engine with both cases of each letter', async () => {
  const { caseFold, testRegex } = await import('./regex.js');
  assert.equal(caseFold('a\\dB[x-z_]'), '[aA]\\d[Bb][x-zX-Z_]');
  assert.equal(testRegex('(?i)select\\s+from').test('SeLeCt  FROM'), true);
  assert.equal(testRegex('(?i)[a-c]+').test('ABC'), true);
  assert.equal(testRegex('(?i)\\D').test('5'), false);
});
