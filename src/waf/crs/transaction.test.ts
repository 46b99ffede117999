/** Interpreter scenarios: SecLang rules in, matched rules, TX and interruptions out. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCollectionStore } from './collections.js';
import type { OperatorCompiler } from './contract.js';
import { loadRuleSet } from './load.js';
import { TEST_TRANSFORMATIONS, testOperators } from './testdata/registry.js';
import { CrsSyntaxError } from './parse.js';
import { CrsTransaction, evaluateRequest } from './transaction.js';
import type { CrsRequestResult } from './transaction.js';
import { testRequest, testRules } from './testdata/request.js';
import type { TestInput } from './testdata/request.js';

const DEFAULTS = 'SecDefaultAction "phase:1,log,auditlog,pass"\nSecDefaultAction "phase:2,log,auditlog,pass"\n';

function run(rules: string, input: TestInput = {}): CrsRequestResult {
  return evaluateRequest(testRules(DEFAULTS + rules), testRequest(input), { uniqueId: 'abc', now: () => 0 });
}

const ids = (r: CrsRequestResult): number[] => r.matched.map((m) => m.id);

test('a chain matches only when every link matches, and records each link’s variable', () => {
  const rules = `SecRule REQUEST_METHOD "@streq POST" "id:10,phase:1,chain"
    SecRule REQUEST_HEADERS:x-a "@streq yes" "t:none"`;
  assert.deepEqual(ids(run(rules, { method: 'POST', headers: [['x-a', 'no']] })), []);
  const r = run(rules, { method: 'POST', headers: [['x-a', 'yes']] });
  assert.deepEqual(ids(r), [10]);
  assert.deepEqual(
    r.matched[0]?.matches.map((m) => [m.variable, m.value, m.chainLevel]),
    [
      ['REQUEST_METHOD', 'POST', 0],
      ['REQUEST_HEADERS:x-a', 'yes', 1],
    ],
  );
});

test('a chain link’s setvar runs when that link matches, even if a later link does not (ModSecurity semantics)', () => {
  const r = run(`SecRule REQUEST_METHOD "@streq GET" "id:11,phase:1,setvar:tx.first=1,chain"
    SecRule REQUEST_METHOD "@streq POST" "setvar:tx.second=1"`);
  assert.equal(r.tx.get('first'), '1');
  assert.equal(r.tx.has('second'), false);
  assert.deepEqual(ids(r), []);
});

test('skipAfter jumps past the rules before its marker; a missing marker ends the phase', () => {
  const rules = `SecAction "id:1,phase:1,skipAfter:END"
SecAction "id:2,phase:1"
SecMarker END
SecAction "id:3,phase:1"
SecAction "id:4,phase:1,skipAfter:NOWHERE"
SecAction "id:5,phase:1"
SecAction "id:6,phase:2"`;
  assert.deepEqual(ids(run(rules)), [1, 3, 4, 6]);
});

test('skip:N skips the next N rules', () => {
  assert.deepEqual(ids(run('SecAction "id:1,phase:1,skip:2"\nSecAction "id:2,phase:1"\nSecAction "id:3,phase:1"\nSecAction "id:4,phase:1"')), [1, 4]);
});

test('setvar assigns, adds, subtracts and deletes, expanding macros in names and values', () => {
  const r = run(
    `SecAction "id:1,phase:1,setvar:tx.a=5,setvar:tx.a=+3,setvar:'tx.b=%{tx.a}',setvar:tx.b=-10,setvar:tx.c=x,setvar:!tx.c,setvar:'tx.n_%{tx.a}=ok',setvar:tx.d=+2"`,
  );
  assert.equal(r.tx.get('a'), '8');
  assert.equal(r.tx.get('b'), '-2');
  assert.equal(r.tx.has('c'), false);
  assert.equal(r.tx.get('n_8'), 'ok');
  assert.equal(r.tx.get('d'), '2');
});

test('macros expand MATCHED_VAR, MATCHED_VAR_NAME, headers, rule.id and captures in msg and logdata', () => {
  const r = run(
    `SecRule ARGS "@rx ^(a)(b+)" "id:77,phase:2,capture,t:lowercase,msg:'rule %{rule.id} on %{REQUEST_HEADERS.host}',logdata:'%{MATCHED_VAR_NAME}=%{MATCHED_VAR} %{TX.0}/%{tx.2}',setvar:tx.seen=%{tx.1}"`,
    { uri: '/?q=ABBB', headers: [['Host', 'h.example']] },
  );
  assert.equal(r.matched[0]?.message, 'rule 77 on h.example');
  assert.equal(r.matched[0]?.data, 'ARGS:q=abbb abbb/bbb');
  assert.equal(r.tx.get('seen'), 'a');
});

test('counting yields the number of values; a missing header counts 0', () => {
  const rules = `SecRule &ARGS "@eq 3" "id:1,phase:1"
SecRule &REQUEST_HEADERS:X-Missing "@eq 0" "id:2,phase:1"
SecRule &ARGS:a "@eq 2" "id:3,phase:1"
SecRule &ARGS:/^b/ "@eq 1" "id:4,phase:1"`;
  assert.deepEqual(ids(run(rules, { uri: '/?a=1&a=2&bc=3' })), [1, 2, 3, 4]);
});

test('negated targets drop members by name and by regex, case-insensitively', () => {
  const rules = `SecRule ARGS|!ARGS:Skip|!ARGS:/^ign/ "@rx evil" "id:1,phase:1,setvar:tx.hits=+1"`;
  assert.equal(run(rules, { uri: '/?skip=evil&ignore_me=evil&x=evil' }).tx.get('hits'), '1');
  assert.equal(run(rules, { uri: '/?skip=evil' }).tx.has('hits'), false);
});

test('a rule runs its actions once per matched variable', () => {
  const r = run(`SecRule ARGS "@rx x" "id:1,phase:1,setvar:tx.score=+5"`, { uri: '/?a=x&b=x&c=y' });
  assert.equal(r.tx.get('score'), '10');
  assert.equal(r.matched[0]?.matches.length, 2);
});

test('a regex selector picks members by name', () => {
  const r = run(`SecRule ARGS_NAMES:/^user/ "@rx ." "id:1,phase:1"`, { uri: '/?username=a&id=2&USERX=1' });
  assert.deepEqual(
    r.matched[0]?.matches.map((m) => m.value),
    ['username', 'USERX'],
  );
});

test('ctl:ruleRemoveById, ruleRemoveByTag and ruleRemoveTargetById act on later rules of the transaction', () => {
  const rules = `SecRule ARGS:off "@streq 1" "id:1,phase:1,ctl:ruleRemoveById=3,ctl:ruleRemoveByTag=noisy,ctl:ruleRemoveTargetById=5;ARGS:pw"
SecAction "id:2,phase:1"
SecAction "id:3,phase:1"
SecAction "id:4,phase:1,tag:'noisy'"
SecRule ARGS "@rx secret" "id:5,phase:1"`;
  assert.deepEqual(ids(run(rules, { uri: '/?pw=secret' })), [2, 3, 4, 5]);
  assert.deepEqual(ids(run(rules, { uri: '/?pw=secret&off=1' })), [1, 2]);
  assert.deepEqual(ids(run(rules, { uri: '/?pw=secret&off=1&other=secret' })), [1, 2, 5]);
});

test('SecRuleRemoveById, SecRuleUpdateTargetById and SecRuleUpdateActionById change rules loaded before them', () => {
  const rules = `SecRule ARGS "@rx bad" "id:1,phase:1,pass"
SecRule ARGS "@rx bad" "id:2,phase:1,pass"
SecRule ARGS "@rx bad" "id:3,phase:1,pass"
SecRuleRemoveById 2
SecRuleUpdateTargetById 1 "!ARGS:ok"
SecRuleUpdateActionById 3 "deny,status:418"`;
  const r = run(rules, { uri: '/?ok=bad' });
  assert.deepEqual(ids(r), [3]);
  assert.equal(r.interruption?.status, 418);
  assert.equal(r.interruption?.ruleId, 3);
});

test('SecRuleRemoveById takes ranges and several ids', () => {
  const r = run('SecAction "id:10,phase:1"\nSecAction "id:15,phase:1"\nSecAction "id:20,phase:1"\nSecAction "id:30,phase:1"\nSecRuleRemoveById 10-16 30');
  assert.deepEqual(ids(r), [20]);
});

test('deny interrupts with its status (403 by default) and stops the later phases; logging still runs', () => {
  const r = run('SecAction "id:1,phase:1,deny"\nSecAction "id:2,phase:2"\nSecAction "id:3,phase:5"');
  assert.deepEqual(r.interruption, { action: 'deny', status: 403, ruleId: 1, phase: 1, url: null });
  assert.deepEqual(ids(r), [1, 3]);
});

test('block takes the phase’s SecDefaultAction: pass in CRS, deny when the default denies', () => {
  assert.equal(run('SecAction "id:1,phase:2,block"').interruption, null);
  const r = run('SecDefaultAction "phase:2,log,deny,status:406"\nSecAction "id:1,phase:2,block"');
  assert.equal(r.interruption?.status, 406);
});

test('DetectionOnly records matches and never interrupts', () => {
  const r = run('SecRuleEngine DetectionOnly\nSecAction "id:1,phase:1,deny"\nSecAction "id:2,phase:1"');
  assert.equal(r.interruption, null);
  assert.deepEqual(ids(r), [1, 2]);
});

test('ctl:ruleEngine=Off stops the rules after it', () => {
  assert.deepEqual(ids(run('SecAction "id:1,phase:1,ctl:ruleEngine=Off"\nSecAction "id:2,phase:1"\nSecAction "id:3,phase:2"')), [1]);
});

test('allow skips the remaining request rules; allow:phase only the current phase', () => {
  assert.deepEqual(ids(run('SecAction "id:1,phase:1,allow"\nSecAction "id:2,phase:1"\nSecAction "id:3,phase:2"')), [1]);
  assert.deepEqual(ids(run('SecAction "id:1,phase:1,allow:phase"\nSecAction "id:2,phase:1"\nSecAction "id:3,phase:2"')), [1, 3]);
});

test('paranoia-level skips: a rule above the detection level is jumped over, as CRS writes them', () => {
  const rules = `SecAction "id:900000,phase:1,setvar:tx.detection_paranoia_level=%{tx.pl}"
SecRule TX:DETECTION_PARANOIA_LEVEL "@lt 1" "id:10,phase:1,skipAfter:END-PL"
SecAction "id:11,phase:1"
SecRule TX:DETECTION_PARANOIA_LEVEL "@lt 2" "id:12,phase:1,skipAfter:END-PL"
SecAction "id:13,phase:1"
SecMarker "END-PL"`;
  assert.deepEqual(ids(run(`SecAction "id:1,phase:1,setvar:tx.pl=1"\n${rules}`)), [1, 900000, 11, 12]);
  assert.deepEqual(ids(run(`SecAction "id:1,phase:1,setvar:tx.pl=2"\n${rules}`)), [1, 900000, 11, 13]);
});

test('an operator parameter with a macro is expanded at run time', () => {
  const rules = `SecAction "id:1,phase:1,setvar:'tx.allowed_methods=GET HEAD'"
SecRule REQUEST_METHOD "!@within %{tx.allowed_methods}" "id:2,phase:1"`;
  assert.deepEqual(ids(run(rules, { method: 'GET' })), [1]);
  assert.deepEqual(ids(run(rules, { method: 'PUT' })), [1, 2]);
});

test('MATCHED_VARS in a chain link reads the previous link’s matches', () => {
  const rules = `SecRule ARGS "@rx ^a" "id:1,phase:1,chain"
    SecRule MATCHED_VARS "@rx z$" "setvar:tx.which=%{MATCHED_VAR_NAME}"`;
  const r = run(rules, { uri: '/?p=abc&q=abz&r=zzz' });
  assert.deepEqual(ids(r), [1]);
  assert.equal(r.tx.get('which'), 'ARGS:q');
});

test('multiMatch runs the operator before and after each transformation', () => {
  const rules = `SecRule ARGS "@streq abc" "id:1,phase:1,t:lowercase,multiMatch"
SecRule ARGS "@streq ABC" "id:2,phase:1,t:lowercase,multiMatch"
SecRule ARGS "@streq ABC" "id:3,phase:1,t:lowercase"`;
  assert.deepEqual(ids(run(rules, { uri: '/?a=ABC' })), [1, 2]);
});

test('t:none clears the transformations before it', () => {
  assert.deepEqual(ids(run('SecRule ARGS "@streq ABC" "id:1,phase:1,t:lowercase,t:none"', { uri: '/?a=ABC' })), [1]);
});

test('a JSON body becomes ARGS_POST named json.a.b with REQBODY_PROCESSOR JSON', () => {
  const rules = `SecRule ARGS_POST:json.user.name "@streq bob" "id:1,phase:2"
SecRule ARGS_POST:json.list "@eq 2" "id:2,phase:2"
SecRule REQBODY_PROCESSOR "@streq JSON" "id:3,phase:2"
SecRule REQBODY_ERROR "@eq 0" "id:4,phase:2"`;
  const r = run(rules, { method: 'POST', headers: [['content-type', 'application/json']], body: '{"user":{"name":"bob"},"list":[1,"x"]}' });
  assert.deepEqual(ids(r), [1, 2, 3, 4]);
});

test('a JSON body that does not parse sets REQBODY_ERROR', () => {
  const r = run('SecRule REQBODY_ERROR "!@eq 0" "id:1,phase:2,logdata:%{REQBODY_ERROR_MSG}"', {
    method: 'POST',
    headers: [['content-type', 'application/json']],
    body: '{"a":',
  });
  assert.deepEqual(ids(r), [1]);
  assert.match(r.matched[0]?.data ?? '', /^JSON parsing error/);
});

test('ctl:requestBodyProcessor in phase 1 decides how phase 2 reads the body; REQUEST_BODY is then set', () => {
  const rules = `SecRule REQBODY_PROCESSOR "!@rx (?:URLENCODED|MULTIPART|XML|JSON)" "id:1,phase:1,ctl:requestBodyProcessor=URLENCODED"
SecRule ARGS:a "@streq 1" "id:2,phase:2"
SecRule REQUEST_BODY "@streq a=1" "id:3,phase:2"`;
  assert.deepEqual(ids(run(rules, { method: 'POST', headers: [['content-type', 'text/plain']], body: 'a=1' })), [1, 2, 3]);
});

test('query arguments keep their UTF-8 bytes, one character per byte', () => {
  const r = run('SecRule ARGS:q "@streq \u00c3\u00a9" "id:1,phase:1"', { uri: '/?q=%C3%A9' });
  assert.deepEqual(ids(r), [1]);
});

test('cookies, REQUEST_FILENAME, REQUEST_BASENAME, QUERY_STRING and REQUEST_LINE come from the request', () => {
  const rules = `SecRule REQUEST_COOKIES:sid "@streq 42" "id:1,phase:1"
SecRule REQUEST_FILENAME "@streq /a b/c.php" "id:2,phase:1"
SecRule REQUEST_BASENAME "@streq c.php" "id:3,phase:1"
SecRule QUERY_STRING "@streq x=1" "id:4,phase:1"
SecRule REQUEST_LINE "@streq GET /a%20b/c.php?x=1 HTTP/1.1" "id:5,phase:1"
SecRule REQUEST_COOKIES_NAMES "@streq theme" "id:6,phase:1"`;
  const r = run(rules, { uri: '/a%20b/c.php?x=1', headers: [['cookie', 'sid=42; theme=dark']] });
  assert.deepEqual(ids(r), [1, 2, 3, 4, 5, 6]);
});

test('the response phases see the status, headers and body', () => {
  const rules = testRules(`${DEFAULTS}SecRule RESPONSE_STATUS "@eq 500" "id:1,phase:3"
SecRule RESPONSE_HEADERS:Content-Type "@rx html" "id:2,phase:3"
SecRule RESPONSE_BODY "@rx SQL syntax" "id:3,phase:4,deny"`);
  const t = new CrsTransaction(rules, testRequest());
  assert.equal(t.processRequestHeaders(), null);
  assert.equal(t.processRequestBody(), null);
  assert.equal(t.processResponseHeaders({ status: 500, protocol: 'HTTP/1.1', headers: [['Content-Type', 'text/html']] }), null);
  assert.equal(t.processResponseBody('You have an error in your SQL syntax')?.ruleId, 3);
  assert.deepEqual(
    t.matched.map((m) => m.id),
    [1, 2, 3],
  );
});

test('initcol opens a persistent collection that the store keeps between transactions', () => {
  const rules = testRules(`${DEFAULTS}SecAction "id:1,phase:1,initcol:ip=%{REMOTE_ADDR},setvar:ip.hits=+1"`);
  const store = new MemoryCollectionStore();
  for (let i = 0; i < 3; i++) evaluateRequest(rules, testRequest(), { store });
  const t = new CrsTransaction(rules, testRequest(), { store });
  t.processRequestHeaders();
  assert.equal(t.collection('ip')?.get('hits'), '4');
});

test('a rule whose operator the registry lacks is listed with the reason, and the others load', () => {
  const rs = testRules(
    'SecRule ARGS "@detectSQLi" "id:1,phase:2"\nSecRule ARGS "@rx a" "id:2,phase:2,t:cmdLine"\nSecRule ARGS "@rx b" "id:3,phase:2,chain"\n  SecRule ARGS "@nope" ""\nSecAction "id:4"',
    'x.conf',
  );
  assert.deepEqual(
    rs.unsupported.map((u) => [u.id, u.line, u.reason]),
    [
      [1, 1, '@detectsqli: test registry: no operator @detectSQLi'.replace('SQLi', 'sqli')],
      [2, 2, 'transformation t:cmdline is not available'],
      [3, 3, '@nope: test registry: no operator @nope'],
    ],
  );
  assert.deepEqual([...rs.byId.keys()], [4]);
});

test('a variable the engine cannot provide marks the rule unsupported', () => {
  const rs = testRules('SecRule GEO:country_code "@streq XX" "id:1,phase:1"');
  assert.match(rs.unsupported[0]?.reason ?? '', /^variable GEO/);
});

const SYNTAX: readonly [string, RegExp][] = [
  ['SecFoo On', /unknown directive SecFoo/],
  ['SecRule ARGS "@rx a" "phase:1"', /a rule needs an id/],
  ['SecRule ARGS "@rx a" "id:1,phase:9"', /bad phase/],
  ['SecRule ARGS "@rx a" "id:1,frobnicate"', /unknown action frobnicate/],
  ['SecRule NOPE "@rx a" "id:1"', /unknown variable NOPE/],
  ['SecAction "id:1"\nSecAction "id:1"', /duplicate rule id 1/],
  ['SecRule ARGS "@rx a" "id:1,chain"', /chain without a following rule/],
  ['SecRule ARGS "@rx a" "id:1,chain"\nSecAction "id:2"', /must be followed by a SecRule/],
  ['SecRule ARGS "@rx a" "id:1,setvar:foo"', /is not collection\.name/],
];

for (const [text, re] of SYNTAX) {
  test(`loading ${JSON.stringify(text)} throws a syntax error naming the file and line`, () => {
    assert.throws(
      () => testRules(text, 'bad.conf'),
      (e: unknown) => e instanceof CrsSyntaxError && e.file === 'bad.conf' && re.test(e.message) && e.message.startsWith('bad.conf:'),
    );
  });
}

test('a multipart body gives FILES, FILES_NAMES, MULTIPART_PART_HEADERS and field ARGS', () => {
  const body = [
    '--XyZ',
    'Content-Disposition: form-data; name="title"',
    '',
    'hello',
    '--XyZ',
    'Content-Disposition: form-data; name="upload"; filename="shell.php"',
    'Content-Type: application/octet-stream',
    '',
    '<?php echo 1; ?>',
    '--XyZ--',
    '',
  ].join('\r\n');
  const rules = `SecRule FILES "@streq shell.php" "id:1,phase:2,logdata:%{MATCHED_VAR_NAME}"
SecRule FILES_NAMES "@streq upload" "id:2,phase:2"
SecRule MULTIPART_PART_HEADERS:upload "@rx ^content-type: application/octet-stream$" "id:3,phase:2,t:lowercase"
SecRule ARGS:title "@streq hello" "id:4,phase:2"
SecRule &ARGS:upload "@eq 0" "id:5,phase:2"
SecRule REQBODY_PROCESSOR "@streq MULTIPART" "id:6,phase:2"`;
  const r = run(rules, { method: 'POST', headers: [['content-type', 'multipart/form-data; boundary=XyZ']], body });
  assert.deepEqual(ids(r), [1, 2, 3, 4, 5, 6]);
  assert.equal(r.matched[0]?.data, 'FILES:upload');
});

test('an XML body gives XML:/* (the text content) and XML://@* (attribute values)', () => {
  const rules = `SecRule XML:/* "@streq ab<c" "id:1,phase:2"
SecRule XML://@* "@streq v2" "id:2,phase:2"`;
  const r = run(rules, {
    method: 'POST',
    headers: [['content-type', 'text/xml']],
    body: '<?xml version="1.0"?><r k="v1"><x y=\'v2\'>a</x><![CDATA[b]]>&lt;c</r>',
  });
  assert.deepEqual(ids(r), [1, 2]);
});

test('the transformation cache gives each rule its own chain’s result for the same value', () => {
  const rules = `SecRule ARGS "@streq abc" "id:1,phase:1,t:lowercase"
SecRule ARGS "@streq ABC" "id:2,phase:1,t:trim"
SecRule ARGS "@streq abc" "id:3,phase:1,t:trim,t:lowercase"`;
  assert.deepEqual(ids(run(rules, { uri: '/?a=ABC' })), [1, 2, 3]);
});

test('an operator that throws does not match, and the fault is recorded with the rule’s place', () => {
  const operators: OperatorCompiler = (name, param, ctx) =>
    name === 'boom'
      ? () => {
          throw new Error('kaboom');
        }
      : testOperators(name, param, ctx);
  const rules = loadRuleSet([{ file: 'f.conf', text: `${DEFAULTS}SecRule ARGS "@boom" "id:1,phase:1"\nSecRule ARGS "@streq x" "id:2,phase:1"` }], {
    transformations: TEST_TRANSFORMATIONS,
    operators,
    readFile: () => '',
  });
  const t = new CrsTransaction(rules, testRequest({ uri: '/?a=x' }));
  assert.equal(t.processRequestHeaders(), null);
  assert.deepEqual(
    t.matched.map((m) => m.id),
    [2],
  );
  assert.deepEqual(t.errors, ['f.conf:3: kaboom']);
});

test('SecRuleRemoveByTag and SecRuleUpdateTargetByTag act on the rules tagged so', () => {
  const rules = `SecRule ARGS "@rx x" "id:1,phase:1,tag:'a'"
SecRule ARGS "@rx x" "id:2,phase:1,tag:'b'"
SecRule ARGS "@rx x" "id:3,phase:1,tag:'b'"
SecRuleRemoveByTag a
SecRuleUpdateTargetByTag b "!ARGS:skip"`;
  assert.deepEqual(ids(run(rules, { uri: '/?skip=x' })), []);
  assert.deepEqual(ids(run(rules, { uri: '/?skip=x&k=x' })), [2, 3]);
});

test('ctl:ruleRemoveTargetByTag leaves the named target out of the tagged rules', () => {
  const rules = `SecAction "id:1,phase:1,ctl:ruleRemoveTargetByTag=attack;ARGS:/^pass/"
SecRule ARGS "@rx x" "id:2,phase:1,tag:'attack'"
SecRule ARGS "@rx x" "id:3,phase:1,tag:'other'"`;
  assert.deepEqual(ids(run(rules, { uri: '/?password=x' })), [1, 3]);
});

test('setvar on a collection never initialised is ignored; expirevar needs the collection', () => {
  const r = run('SecAction "id:1,phase:1,setvar:ip.x=1,expirevar:ip.x=60,setvar:tx.y=2"');
  assert.equal(r.tx.get('y'), '2');
  assert.equal(r.tx.has('x'), false);
});

test('an unknown or absent macro reference expands to nothing', () => {
  const r = run(`SecAction "id:1,phase:1,setvar:'tx.a=[%{tx.nope}][%{REQUEST_HEADERS.x-none}][%{ARGS.q}]'"`, { uri: '/?q=1' });
  assert.equal(r.tx.get('a'), '[][][1]');
});

test('redirect interrupts with 302 and the expanded target', () => {
  const r = run(`SecAction "id:1,phase:1,redirect:'https://example.com/blocked?id=%{rule.id}'"`);
  assert.deepEqual(r.interruption, { action: 'redirect', status: 302, ruleId: 1, phase: 1, url: 'https://example.com/blocked?id=1' });
});

test('an absolute-form request target gives REQUEST_URI without scheme and host; REQUEST_URI_RAW keeps them', () => {
  const rules = `SecRule REQUEST_URI "@streq /p?q=1" "id:1,phase:1"
SecRule REQUEST_URI_RAW "@streq http://h.example/p?q=1" "id:2,phase:1"
SecRule REQUEST_FILENAME "@streq /p" "id:3,phase:1"`;
  assert.deepEqual(ids(run(rules, { uri: 'http://h.example/p?q=1' })), [1, 2, 3]);
});

test('counting a scalar gives 1 when it exists and 0 when it does not', () => {
  const rules = `SecRule &REQUEST_BODY "@eq 0" "id:1,phase:2"
SecRule &REQUEST_METHOD "@eq 1" "id:2,phase:2"`;
  assert.deepEqual(ids(run(rules)), [1, 2]);
});

test('TIME_*, UNIQUE_ID and REMOTE_ADDR come from the transaction and the connection', () => {
  const rules = `SecRule TIME_YEAR "@eq 1970" "id:1,phase:1"
SecRule UNIQUE_ID "@streq abc" "id:2,phase:1"
SecRule REMOTE_ADDR "@streq 192.0.2.1" "id:3,phase:1"
SecRule TIME "@streq 00:00:00" "id:4,phase:1"`;
  assert.deepEqual(ids(run(rules)), [1, 2, 3, 4]);
});
