/** The engine: scoring, paranoia, exclusions, schema awareness, inspection limits, targets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CleanHeaders, compileExclusions, compileRules, evaluate } from '../../src/waf/engine.js';
import { BUILTIN_RULES } from '../../src/waf/rules/index.js';
import { extractTargets } from '../../src/waf/targets.js';
import { DEFAULT_LIMITS, TARGET_KINDS, type Policy, type RuleDef, type WafRequest } from '../../src/waf/types.js';
import { routeSettings, type WafGlobal } from '../../src/stages/waf/index.js';

const compiled = compileRules(BUILTIN_RULES);
const P1: Policy = { paranoia: 1, threshold: 5, exclusions: [] };

function req(over: Partial<WafRequest> = {}): WafRequest {
  return { method: 'GET', rawUrl: '/', path: '/', query: '', headers: {}, body: null, ...over };
}
function jsonReq(body: unknown, extra: Partial<WafRequest> = {}): WafRequest {
  return req({ method: 'POST', rawUrl: '/t', path: '/t', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)), ...extra });
}

test('a request with one critical match scores 5 and is blocked at threshold 5', () => {
  const r = evaluate(req({ rawUrl: '/?q=%3Cscript%3Ealert(1)%3C/script%3E', query: 'q=%3Cscript%3Ealert(1)%3C/script%3E' }), compiled, P1);
  assert.equal(r.blocked, true);
  assert.ok(r.score >= 5);
  assert.ok(r.matches.some((m) => m.target === 'query:q' && m.tags.includes('attack-xss')));
});

test('a higher threshold lets a single critical match through', () => {
  const r = evaluate(req({ query: 'id=1%20union%20select%201', rawUrl: '/?id=1%20union%20select%201' }), compiled, { ...P1, threshold: 100 });
  assert.equal(r.blocked, false);
  assert.ok(r.score > 0);
});

test('rules above the policy paranoia level do not run', () => {
  const rules: RuleDef[] = [
    {
      id: 't-4',
      description: 'x',
      tags: ['t'],
      paranoia: 4,
      severity: 'critical',
      targets: ['query'],
      transforms: [],
      operator: { type: 'contains', value: 'zz' },
    },
  ];
  const c = compileRules(rules);
  const r1 = evaluate(req({ query: 'a=zz' }), c, { ...P1, paranoia: 3 });
  const r4 = evaluate(req({ query: 'a=zz' }), c, { ...P1, paranoia: 4 });
  assert.equal(r1.score, 0);
  assert.equal(r4.score, 5);
});

test('an exclusion by tag on one JSON subtree skips those rules there only', () => {
  const ex = compileExclusions([{ tags: ['attack-sqli'], targets: ['json:/ticket'] }]);
  const inside = evaluate(jsonReq({ ticket: { body: "' OR 1=1--" } }), compiled, P1, { exclusions: ex });
  assert.equal(inside.blocked, false);
  const outside = evaluate(jsonReq({ title: "' OR 1=1--" }), compiled, P1, { exclusions: ex });
  assert.equal(outside.blocked, true);
});

test('an exclusion by rule id without targets disables the rule everywhere', () => {
  const ex = compileExclusions([{ rules: ['xxe-100'] }]);
  const xml = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/hostname">]><x>&e;</x>';
  const r = evaluate(req({ method: 'POST', headers: { 'content-type': 'application/xml' }, body: Buffer.from(xml) }), compiled, P1, { exclusions: ex });
  assert.ok(!r.matches.some((m) => m.ruleId === 'xxe-100'));
});

test('an unknown exclusion target selector is refused', () => {
  assert.throws(() => compileExclusions([{ targets: ['nope:x'] }]), /unknown WAF target selector/);
});

test('a value that passed a constrained schema type skips injection rules, a free-text one does not', () => {
  const body = { age: "1' OR '1'='1", note: "1' OR '1'='1" };
  const validated = new Set(['/body/age']);
  const r = evaluate(jsonReq(body, { validatedPointers: validated }), compiled, P1, { allMatches: true });
  assert.ok(!r.matches.some((m) => m.target === 'json:/age'), 'no match on the validated field');
  assert.ok(
    r.matches.some((m) => m.target === 'json:/note'),
    'the free-text field is inspected',
  );
  assert.equal(r.skippedValidated, 1);
});

test('a body another stage already parsed is inspected without parsing it again', () => {
  const r = evaluate(jsonReq({ ignored: true }, { reading: { kind: 'json', value: { q: '<svg onload=alert(1)>' } } }), compiled, P1);
  assert.equal(r.blocked, true);
});

test('a request with more data than the inspection budget is reported as truncated', () => {
  const c = compileRules(BUILTIN_RULES, { ...DEFAULT_LIMITS, maxInspectedBytes: 2048 });
  const r = evaluate(jsonReq({ pad: 'a'.repeat(5000), attack: "' or 1=1--" }), c, P1);
  assert.equal(r.truncated, true);
});

test('JSON nested deeper than the limit is reported as truncated', () => {
  const c = compileRules(BUILTIN_RULES, { ...DEFAULT_LIMITS, maxJsonDepth: 4 });
  let v: unknown = 'x';
  for (let i = 0; i < 10; i++) v = { a: v };
  assert.equal(evaluate(jsonReq(v), c, P1).truncated, true);
});

test('targets carry JSON pointers, decoded query names and values, cookies, and path segments', () => {
  const sink = extractTargets(
    req({
      method: 'POST',
      rawUrl: '/a/b%20c?x%5B0%5D=1+2',
      path: '/a/b%20c',
      query: 'x%5B0%5D=1+2',
      headers: { cookie: 'sid=abc; theme=dark', 'content-type': 'application/json' },
      body: Buffer.from('{"a":{"b/c":["v"]}}'),
      params: { id: 'b c' },
    }),
    DEFAULT_LIMITS,
  );
  const t = sink.targets.map((x) => `${x.kind}:${x.name}=${x.value}@${x.pointer ?? ''}`);
  assert.ok(t.includes('query:x[0]=1 2@/query/x[0]'), t.join('\n'));
  assert.ok(t.includes('cookie:theme=dark@/cookie/theme'));
  assert.ok(t.includes('json:/a/b~1c/0=v@/body'), 'JSON values: the schema pointer is /body + the name');
  assert.ok(t.includes('json_key:/a/b~1c=b/c@'));
  assert.ok(t.includes('path_segment:1=b c@/path/id'));
});

test('Authorization and cookie values are never echoed in matches', () => {
  const r = evaluate(req({ headers: { cookie: "s=' or 1=1--" } }), compiled, P1);
  assert.equal(r.blocked, true);
  for (const m of r.matches) if (m.target.startsWith('cookie')) assert.equal(m.matched, '[redacted]');
  const targets = extractTargets(req({ headers: { authorization: "Bearer ' or 1=1--" } }), DEFAULT_LIMITS).targets;
  assert.ok(!targets.some((x) => x.kind === 'header' && x.name === 'authorization'), 'a bearer token is not a target');
  const basic = evaluate(req({ headers: { authorization: `Basic ${Buffer.from("admin' or 1=1--:pw").toString('base64')}` } }), compiled, P1);
  assert.equal(basic.blocked, true, 'Basic credentials are decoded and inspected');
  assert.ok(basic.matches.some((m) => m.target === 'header:authorization'));
  for (const m of basic.matches) if (m.target === 'header:authorization') assert.equal(m.matched, '[redacted]');
});

test('route settings merge the global defaults with the route override, and waf: off disables the stage', () => {
  const g: WafGlobal = {
    mode: 'enforce',
    paranoia: 1,
    threshold: 5,
    exclusions: [{ rules: ['sqli-100'], routes: ['other'] }],
    disabled_rules: ['xss-115'],
    max_inspected_bytes: 1048576,
    max_json_depth: 64,
    on_limit: 'block',
    engine: 'builtin',
    crs: { path: null, files: [], inbound_threshold: 5, outbound_threshold: 4, inspect_responses: false, detection_paranoia: null },
  };
  assert.equal(routeSettings(g, 'r', 'off'), null);
  assert.equal(routeSettings(g, 'r', { mode: 'off' }), null);
  const s = routeSettings(g, 'r', { paranoia: 2, threshold: 10 });
  assert.ok(s);
  assert.equal(s.policy.paranoia, 2);
  assert.equal(s.policy.threshold, 10);
  assert.equal(s.policy.stopAtThreshold, true);
  assert.deepEqual(s.policy.exclusions, [{ rules: ['xss-115'] }], 'the exclusion for another route is dropped');
  const m = routeSettings(g, 'r', { mode: 'monitor' });
  assert.equal(m?.policy.stopAtThreshold, false);
});

test('a duplicate rule id is refused at compile time', () => {
  const r: RuleDef = {
    id: 'd',
    description: 'x',
    tags: [],
    paranoia: 1,
    severity: 'notice',
    targets: ['query'],
    transforms: [],
    operator: { type: 'contains', value: 'a' },
  };
  assert.throws(() => compileRules([r, r]), /duplicate rule id/);
});

test('base64-hidden payloads are decoded at every alignment; values without upper case skip the decoding', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  // node-110: 'child_process' hidden in base64, at each of the three byte offsets
  for (const pad of ['', 'a', 'ab']) {
    const v = b64(`${pad}x=require('child_process').exec('id')`);
    assert.match(v, /[A-Z]/);
    const ev = evaluate(jsonReq({ data: v }), compiled, { ...P1, threshold: 1000 });
    assert.ok(
      ev.matches.some((m) => m.ruleId === 'node-110'),
      `${pad}: ${JSON.stringify(ev.matches.map((m) => m.ruleId))}`,
    );
  }
  // the same characters without upper case are not base64 to the engine (words, ids, hex)
  const lower = b64("x=require('child_process')").toLowerCase();
  assert.ok(!evaluate(jsonReq({ data: lower }), compiled, { ...P1, threshold: 1000 }).matches.some((m) => m.ruleId === 'node-110'));
  assert.ok(!evaluate(jsonReq({ data: 'x'.repeat(900) }), compiled, { ...P1, threshold: 1000 }).blocked);
});

test('header values found clean are remembered across requests, never a value that was clean only because its rule had already fired', () => {
  const known = new CleanHeaders();
  const ua = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0';
  const first = evaluate(req({ headers: { 'user-agent': ua, accept: 'application/json' } }), compiled, P1, { cleanHeaders: known });
  assert.equal(first.matches.length, 0);
  const uaKind = TARGET_KINDS.indexOf('header');
  assert.equal(known.has(uaKind, `user-agent\u0000${ua}`), true, 'a clean User-Agent is remembered with its name');
  // the same payload in two headers: the second is skipped once the rule fired on the first,
  // and must not be remembered as clean
  const payload = "' or 1=1--";
  const both = evaluate(req({ headers: { 'x-a': payload, 'x-b': payload } }), compiled, { ...P1, stopAtThreshold: false }, { cleanHeaders: known });
  assert.ok(both.score > 0);
  assert.equal(known.has(uaKind, `x-b\u0000${payload}`), false);
  const alone = evaluate(req({ headers: { 'x-b': payload } }), compiled, P1, { cleanHeaders: known });
  assert.equal(alone.blocked, true, 'the payload alone is still blocked');
});

test('remembered header values are bounded: the oldest goes first', () => {
  const known = new CleanHeaders(3);
  for (const v of ['a', 'b', 'c', 'd']) known.add(9, v);
  assert.deepEqual(
    ['a', 'b', 'c', 'd'].map((v) => known.has(9, v)),
    [false, true, true, true],
  );
});
