/** Vectors for the SecLang reader: continuations, quoting, actions, variables, operators, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CrsSyntaxError, parseDirectives, parseOperator, parseVariables, splitActions, splitArgs } from './parse.js';
import { parseMacro } from './macro.js';

const ARGS: readonly [string, string[]][] = [
  ['SecRuleEngine On', ['SecRuleEngine', 'On']],
  ['SecRule ARGS "@rx a b" "id:1"', ['SecRule', 'ARGS', '@rx a b', 'id:1']],
  [`SecRule ARGS '@rx a"b' "id:1"`, ['SecRule', 'ARGS', '@rx a"b', 'id:1']],
  ['SecRule ARGS "@rx [\\"\\\']" "id:1"', ['SecRule', 'ARGS', `@rx ["\\']`, 'id:1']],
  ['SecRule ARGS "@rx a\\\\b" "id:1"', ['SecRule', 'ARGS', '@rx a\\b', 'id:1']],
  ['SecRule ARGS "@rx \\d+\\s" "id:1"', ['SecRule', 'ARGS', '@rx \\d+\\s', 'id:1']],
  ['  SecMarker\tEND-X  ', ['SecMarker', 'END-X']],
  ['SecAction ""', ['SecAction', '']],
];

for (const [text, want] of ARGS) {
  test(`splitArgs reads ${JSON.stringify(text)} as ${JSON.stringify(want)}`, () => {
    assert.deepEqual(splitArgs(text, 'f', 1), want);
  });
}

test('splitArgs refuses an unterminated quote with the file and line', () => {
  assert.throws(
    () => splitArgs('SecRule ARGS "@rx a', 'x.conf', 7),
    (e: unknown) => e instanceof CrsSyntaxError && e.file === 'x.conf' && e.line === 7 && e.message.startsWith('x.conf:7: unterminated quoted argument'),
  );
});

test('parseDirectives joins backslash continuations and numbers directives by their first line', () => {
  const text = [
    '# comment',
    '',
    'SecRule ARGS "@rx x" \\',
    '    "id:1,\\',
    '    phase:2,\\',
    '    pass"',
    '  # indented comment',
    'SecMarker "END"',
    'SecAction "id:2" \\',
  ].join('\n');
  const d = parseDirectives(text, 'r.conf');
  assert.deepEqual(
    d.map((x) => [x.name, x.args, x.line]),
    [
      ['SecRule', ['ARGS', '@rx x', 'id:1,    phase:2,    pass'], 3],
      ['SecMarker', ['END'], 8],
      ['SecAction', ['id:2'], 9],
    ],
  );
});

test('parseDirectives accepts CRLF line ends and trailing blanks after a continuation', () => {
  const d = parseDirectives('SecRule ARGS "@rx x" \\  \r\n  "id:1"\r\n', 'r.conf');
  assert.deepEqual(d[0]?.args, ['ARGS', '@rx x', 'id:1']);
});

const ACTIONS: readonly [string, [string, string | null][]][] = [
  [
    'id:1,phase:2,pass',
    [
      ['id', '1'],
      ['phase', '2'],
      ['pass', null],
    ],
  ],
  [
    "msg:'a, b: c',tag:'x'",
    [
      ['msg', 'a, b: c'],
      ['tag', 'x'],
    ],
  ],
  [
    "msg:'prefix \\'UP\\' to',nolog",
    [
      ['msg', "prefix 'UP' to"],
      ['nolog', null],
    ],
  ],
  [
    "setvar:'tx.a=+%{tx.b}', setvar:tx.c=-1 ,setvar:!tx.d",
    [
      ['setvar', 'tx.a=+%{tx.b}'],
      ['setvar', 'tx.c=-1'],
      ['setvar', '!tx.d'],
    ],
  ],
  [
    't:none,t:urlDecodeUni,  t:lowercase',
    [
      ['t', 'none'],
      ['t', 'urlDecodeUni'],
      ['t', 'lowercase'],
    ],
  ],
  [
    'ctl:ruleRemoveTargetById=942100;ARGS:pwd,chain',
    [
      ['ctl', 'ruleRemoveTargetById=942100;ARGS:pwd'],
      ['chain', null],
    ],
  ],
  [
    "logdata:'Matched Data: %{TX.0} found within %{MATCHED_VAR_NAME}: %{MATCHED_VAR}'",
    [['logdata', 'Matched Data: %{TX.0} found within %{MATCHED_VAR_NAME}: %{MATCHED_VAR}']],
  ],
  [
    'skipAfter:END-X,severity:CRITICAL,status:403',
    [
      ['skipAfter', 'END-X'],
      ['severity', 'CRITICAL'],
      ['status', '403'],
    ],
  ],
  ['', []],
];

for (const [text, want] of ACTIONS) {
  test(`splitActions reads ${JSON.stringify(text)}`, () => {
    assert.deepEqual(
      splitActions(text, 'f', 1).map((a) => [a.name, a.value]),
      want,
    );
  });
}

test('splitActions refuses an unterminated quoted value', () => {
  assert.throws(() => splitActions("msg:'abc", 'f.conf', 3), /f\.conf:3: unterminated quoted value of action 'msg'/);
});

const VARS: readonly [string, [string, string | null, boolean, boolean, boolean][]][] = [
  ['ARGS', [['ARGS', null, false, false, false]]],
  [
    'ARGS:foo|!ARGS:bar',
    [
      ['ARGS', 'foo', false, false, false],
      ['ARGS', 'bar', false, true, false],
    ],
  ],
  [
    '&TX:x|&ARGS',
    [
      ['TX', 'x', false, false, true],
      ['ARGS', null, false, false, true],
    ],
  ],
  [
    '!REQUEST_COOKIES:/^(?:a|b)$/|REQUEST_COOKIES',
    [
      ['REQUEST_COOKIES', '^(?:a|b)$', true, true, false],
      ['REQUEST_COOKIES', null, false, false, false],
    ],
  ],
  [
    'XML:/*|XML://@*',
    [
      ['XML', '/*', false, false, false],
      ['XML', '//@*', false, false, false],
    ],
  ],
  [
    "ARGS:'a b'|request_headers:User-Agent",
    [
      ['ARGS', 'a b', false, false, false],
      ['REQUEST_HEADERS', 'User-Agent', false, false, false],
    ],
  ],
  ['TX:/^a\\/b/', [['TX', '^a\\/b', true, false, false]]],
];

for (const [text, want] of VARS) {
  test(`parseVariables reads ${text}`, () => {
    assert.deepEqual(
      parseVariables(text, 'f', 1).map((v) => [v.collection, v.key, v.regex, v.negated, v.count]),
      want,
    );
  });
}

for (const bad of ['!ARGS', 'ARGS:', 'ARGS:/abc', '|', 'AR-GS']) {
  test(`parseVariables refuses ${JSON.stringify(bad)}`, () => {
    assert.throws(() => parseVariables(bad, 'f.conf', 2), CrsSyntaxError);
  });
}

const OPS: readonly [string, [string, string, boolean]][] = [
  ['@rx ^a b$', ['rx', '^a b$', false]],
  ['!@within %{tx.allowed_methods}', ['within', '%{tx.allowed_methods}', true]],
  ['^implicit', ['rx', '^implicit', false]],
  ['!^implicit', ['rx', '^implicit', true]],
  ['@unconditionalMatch', ['unconditionalmatch', '', false]],
  ['@eq   0', ['eq', '0', false]],
];

for (const [text, want] of OPS) {
  test(`parseOperator reads ${JSON.stringify(text)}`, () => {
    const o = parseOperator(text);
    assert.deepEqual([o.name, o.param, o.negated], want);
  });
}

test('parseMacro splits literals and references, with dot or colon members', () => {
  assert.deepEqual(parseMacro('a %{tx.b} %{MATCHED_VAR}%{request_headers:Host}!'), [
    'a ',
    { collection: 'TX', key: 'b' },
    ' ',
    { collection: 'MATCHED_VAR', key: null },
    { collection: 'REQUEST_HEADERS', key: 'Host' },
    '!',
  ]);
  assert.deepEqual(parseMacro('no macro %{'), ['no macro %{']);
});
