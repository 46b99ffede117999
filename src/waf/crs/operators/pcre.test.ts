/** PCRE → JS translation vectors, the linear engine's self-check and what is refused (with why). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CrsUnsupported } from '../contract.js';
import { compileLinear, linearRegexState } from '../../../core/linear-regex.js';
import { CR_SENTINEL, translatePcre } from './pcre.js';

function matches(pattern: string, input: string): boolean {
  const t = translatePcre(pattern);
  const re = compileLinear(t.source, t.flags);
  return re.test(t.crSentinel ? input.replaceAll('\r', CR_SENTINEL) : input);
}

// [PCRE pattern, input, matches as ModSecurity's PCRE (DOTALL, MULTILINE, no UTF) would]
const VECTORS: readonly [string, string, boolean][] = [
  ['(?i)select', 'SeLeCt', true],
  ['select', 'SELECT', false],
  ['(?i:ab)c', 'ABc', true],
  ['(?i:ab)c', 'ABC', false],
  ['a(?i)b|c', 'aB', true],
  ['a(?i)b|c', 'C', true],
  ['(?i)[a-c]+x', 'ABCX', true],
  ['(?i)[^a]', 'A', false],
  ['\\w+', '\xe9', false],
  ['\\s', '\xa0', false],
  ['\\s', '\x0b', true],
  ['\\S', '\xa0', true],
  ['[\\s\\x0b]x', '\x0bx', true],
  ['[^\\s]', ' \t', false],
  ['\\h', '\xa0', true],
  ['[[:alpha:]]', '\xe9', false],
  ['[[:^digit:]]', '5', false],
  ['[[:punct:]]', '#', true],
  ['.', '\n', true],
  ['^a', 'x\na', true],
  ['^a', 'x\ra', false],
  ['a$', 'a\rx', false],
  ['a$', 'a\nx', true],
  ['a[\\r]', 'a\r', true],
  ['^a[^b]$', 'a\r', true],
  ['^a.$', 'a\r', true],
  ['\\Aab\\z', 'ab', true],
  ['\\Aab\\z', 'x\nab', false],
  ['\\x41\\x{42}\\103\\0', 'ABC\0', true],
  ['\\x5c', '\\', true],
  ['[\\x7f-\\x{ff}]', '\xff', true],
  ['[\\x7f-\\x{ff}]', 'z', false],
  ['a\\Q.*\\Eb', 'a.*b', true],
  ['a\\Q.*\\Eb', 'axxb', false],
  ['a(?#comment)b', 'ab', true],
  ['(?P<n>x)y', 'xy', true],
  ['a{2,3}?b', 'aab', true],
  ['\\bor\\b', 'a or b', true],
  ['\\bor\\b', 'orb', false],
  ['x{', 'x{', true],
  ['[]a]', ']', true],
  ['[a-]', '-', true],
  ['\\"', '"', true],
];

for (const [pattern, input, expected] of VECTORS) {
  test(`/${pattern}/ ${expected ? 'matches' : 'does not match'} ${JSON.stringify(input)} as ModSecurity's PCRE would`, () => {
    assert.equal(matches(pattern, input), expected);
  });
}

// [pattern, a part of the reason]
const REFUSED: readonly [string, RegExp][] = [
  ['(a)\\1', /backreference/],
  ['a(?=b)', /lookaround/],
  ['(?<!a)b', /lookaround/],
  ['(?>a+)b', /atomic/],
  ['a++b', /possessive/],
  ['(?x) a', /option 'x'/],
  ['\\p{L}', /escape '\\p'/],
  ['\\x{100}', /not a byte/],
  ['[z-a]', /out of order/],
  ['(a', /missing \)/],
  ['a)', /unbalanced/],
  ['^a\\z', /\\A or \\z together/],
];

for (const [pattern, why] of REFUSED) {
  test(`/${pattern}/ is refused with a reason matching ${why}`, () => {
    assert.throws(
      () => translatePcre(pattern),
      (err: unknown) => err instanceof CrsUnsupported && why.test(err.reason),
    );
  });
}

test('the linear engine is available and passes its self-check', () => {
  const s = linearRegexState();
  assert.ok(s.mode === 'fallback' || s.mode === 'linear', JSON.stringify(s));
});

test('a pattern that backtracks exponentially elsewhere finishes at once on 100 KB', () => {
  const re = compileLinear('^(?:a|a)*(?:b|a)*$', 's');
  const input = `${'a'.repeat(100_000)}c`;
  const start = performance.now();
  assert.equal(re.test(input), false);
  assert.ok(performance.now() - start < 500, `${performance.now() - start} ms`);
});

test('a counted repetition beyond the engine (over 16 copies) is refused at compile time', () => {
  assert.throws(() => compileLinear('a{1,255}', 's'), /linear/);
});
