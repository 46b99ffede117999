/** The loader: every action form lands in the rule, defaults apply, config directives are recorded. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idMatcher } from './load.js';
import { testRules } from './testdata/request.js';

test('every action form lands in the loaded rule', () => {
  const rs = testRules(
    `SecRule ARGS:a|!ARGS:b|&TX:c "@rx x" "id:42,phase:request,msg:'m %{tx.a}',logdata:'d',tag:'t1',tag:'t2',ver:'v1',rev:'3',severity:'WARNING',maturity:9,accuracy:8,t:none,t:lowercase,t:urlDecodeUni,capture,multiMatch,deny,status:406,skip:2,skipAfter:END,setvar:'tx.s=+1',setvar:!tx.z,ctl:ruleRemoveById=1-3,ctl:ruleRemoveTargetById=5;ARGS:pw,expirevar:ip.k=60,initcol:ip=%{REMOTE_ADDR},setenv:E=1,nolog,auditlog,sanitiseArg:pw"`,
  );
  const r = rs.byId.get(42);
  assert.ok(r !== undefined);
  assert.equal(r.phase, 2);
  assert.deepEqual(
    r.targets.map((t) => [t.collection, t.key, t.count]),
    [
      ['ARGS', 'a', false],
      ['TX', 'c', true],
    ],
  );
  assert.deepEqual(
    r.exclusions.map((e) => [e.collection, e.key]),
    [['ARGS', 'b']],
  );
  assert.deepEqual(r.msg, ['m ', { collection: 'TX', key: 'a' }]);
  assert.deepEqual(r.logdata, ['d']);
  assert.deepEqual(r.tags, ['t1', 't2']);
  assert.deepEqual([r.ver, r.rev, r.severity, r.maturity, r.accuracy], ['v1', '3', 4, 9, 8]);
  assert.deepEqual(r.transformNames, ['lowercase', 'urldecodeuni']);
  assert.deepEqual([r.capture, r.multiMatch, r.disruptive, r.status, r.skip, r.skipAfter, r.log, r.auditlog], [true, true, 'deny', 406, 2, 'END', false, true]);
  assert.deepEqual(
    r.effects.map((e) => e.kind),
    ['setvar', 'setvar', 'ctl', 'ctl', 'expirevar', 'initcol', 'setenv'],
  );
  const ctl = r.effects.filter((e) => e.kind === 'ctl').map((e) => (e.kind === 'ctl' ? [e.ctl.name, e.ctl.value, e.ctl.target?.key ?? null] : []));
  assert.deepEqual(ctl, [
    ['ruleremovebyid', '1-3', null],
    ['ruleremovetargetbyid', '5', 'pw'],
  ]);
  const sv = r.effects.find((e) => e.kind === 'setvar');
  assert.deepEqual(sv?.kind === 'setvar' ? [sv.setvar.collection, sv.setvar.key, sv.setvar.op, sv.setvar.value] : [], ['tx', ['s'], '+', ['1']]);
});

test('a rule takes its phase’s SecDefaultAction: disruptive action for block, log flags and transformations', () => {
  const rs = testRules(
    'SecDefaultAction "phase:1,nolog,deny,status:401,t:lowercase"\nSecRule ARGS "@rx x" "id:1,phase:1,block,t:trim"\nSecRule ARGS "@rx x" "id:2,phase:2"',
  );
  const r1 = rs.byId.get(1);
  const r2 = rs.byId.get(2);
  assert.deepEqual([r1?.blockAs, r1?.status, r1?.log, r1?.transformNames], ['deny', 401, false, ['lowercase', 'trim']]);
  assert.deepEqual([r2?.blockAs, r2?.status, r2?.log, r2?.transformNames], ['pass', null, true, []]);
});

test('configuration directives are recorded, and SecRuleEngine and body access read', () => {
  const rs = testRules(
    'SecRuleEngine DetectionOnly\nSecRequestBodyAccess Off\nSecResponseBodyAccess On\nSecRequestBodyLimit 13107200\nSecComponentSignature "x/1"',
  );
  assert.deepEqual([rs.engine, rs.requestBodyAccess, rs.responseBodyAccess], ['DetectionOnly', false, true]);
  assert.deepEqual(rs.config.get('SecRequestBodyLimit'), ['13107200']);
  assert.deepEqual(rs.componentSignatures, ['x/1']);
});

test('markers appear in every phase, rules only in their own', () => {
  const rs = testRules('SecAction "id:1,phase:1"\nSecMarker M\nSecAction "id:2,phase:2"');
  assert.deepEqual(
    rs.phases.map((p) => p.map((r) => r.marker ?? r.id)),
    [[], [1, 'M'], ['M', 2], ['M'], ['M'], ['M']],
  );
});

test('SecRuleUpdateActionById with a chain offset updates that link', () => {
  const rs = testRules('SecRule ARGS "@rx a" "id:1,phase:1,chain"\n  SecRule ARGS "@rx b" "setvar:tx.x=1"\nSecRuleUpdateActionById 1:1 "t:lowercase"');
  assert.deepEqual(rs.byId.get(1)?.chain?.transformNames, ['lowercase']);
});

const IDS: readonly [readonly string[], number, boolean][] = [
  [['1'], 1, true],
  [['1-5'], 5, true],
  [['1-5'], 6, false],
  [['1 7', '9-10'], 7, true],
  [['1,7'], 7, true],
];

for (const [args, id, want] of IDS) {
  test(`idMatcher ${JSON.stringify(args)} ${want ? 'takes' : 'leaves'} ${id}`, () => {
    assert.equal(idMatcher(args)(id), want);
  });
}

test('idMatcher refuses what is not an id or a range', () => {
  assert.throws(() => idMatcher(['1-x']), /not a rule id/);
});
