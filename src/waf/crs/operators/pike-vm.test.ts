/** The Pike VM agrees with V8's backtracking engine (match and groups) and stays linear. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CR_SENTINEL, translatePcre } from './pcre.js';
import { compilePike } from './pike-vm.js';
import { compileRxWithEngine } from './rx.js';

// [PCRE pattern, inputs]: every input is run on both engines
const CASES: readonly [string, readonly string[]][] = [
  ['a(b|bc)(c?)d', ['abcd', 'abd', 'xabccd']],
  ['(a+?)(a*)', ['aaa', 'b']],
  ['(a|ab)(c|bcd)(d*)', ['abcd']],
  ['^(\\w+)\\s*=\\s*(.*)$', ['x\nkey = va lue\n', 'k=\r\n']],
  ['(?i)(sel)(?:ect)?\\b', ['SELECTED select', 'Sel']],
  ['x{2,20}?(y)', ['xxxxxxy', 'xy']],
  ['\\bServer Error in.{0,50}?\\bApplication\\b', ['Server Error in xyz Application here', 'Server Error in Applications']],
  ['(?:^|[/\\x5c])sess_[,\\-0-9a-z]{20,256}$', ['/tmp/sess_0123456789abcdefghij', 'sess_short', 'a\\sess_0123456789abcdefghijk\nz']],
  ['(a)|b', ['b', 'a']],
  ['()', ['']],
  ['(?:a*)*b', ['aaab', 'aaa']],
];

for (const [pattern, inputs] of CASES) {
  test(`the Pike VM gives V8's match and groups for /${pattern}/`, () => {
    const t = translatePcre(pattern);
    const v8 = new RegExp(t.source, t.flags);
    const vm = compilePike(translatePcre(pattern, false).source, t.flags);
    for (const input of inputs) {
      const m = v8.exec(t.crSentinel ? input.replaceAll('\r', CR_SENTINEL) : input);
      const expected = m === null ? null : [...m].map((g) => g?.replaceAll(CR_SENTINEL, '\r'));
      assert.deepEqual(vm.exec(input), expected, JSON.stringify(input));
    }
  });
}

test('@rx with a counted repetition over 16 copies runs on the Pike VM and captures', () => {
  const { op, engine } = compileRxWithEngine('(?i)HELO\\s([\\-\\.a-z]{1,255})$');
  assert.equal(engine, 'pike');
  const run = { captures: [] as string[] };
  assert.equal(op('x\r\nhelo evil.example\n', run), true);
  assert.deepEqual(run.captures, ['helo evil.example', 'evil.example']);
  assert.equal(op('helo', { captures: null }), false);
});

test('@rx with \\A or \\z beside ^ or $ runs on the Pike VM with both kinds of anchors', () => {
  const { op, engine } = compileRxWithEngine('^a(?:$|b\\z)');
  assert.equal(engine, 'pike');
  assert.equal(op('x\nab', { captures: null }), true);
  assert.equal(op('x\na\ny', { captures: null }), true);
  assert.equal(op('ab\ny', { captures: null }), false);
});

test('the Pike VM is linear: 100 KB against nested and counted repetitions', () => {
  const vm = compilePike(translatePcre('(?:a|a)*(?:x.{1,64}y){2}$').source, 's');
  const input = 'a'.repeat(100_000);
  const start = performance.now();
  assert.equal(vm.exec(input), null);
  assert.ok(performance.now() - start < 5000, `${performance.now() - start} ms`);
});
